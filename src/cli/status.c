/*
 * status.c: `sluice status`, a running server's functions and containers.
 *
 * It asks GET /_sluice/status over a plain blocking socket: one request,
 * `Connection: close`, so the whole exchange is a few syscalls and needs
 * no event loop. The answer is parsed with jansson and printed as a table,
 * or pretty-printed as it came with --json.
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/buf.h"

#define STATUS_TIMEOUT_S 5
#define STR_(x) #x
#define STR(x) STR_(x)
/* A status document is a few KiB per function; anything near this is not one. */
#define MAX_RESPONSE (64u << 20)
/* DNS names are at most 253 characters; the bound keeps every buffer fixed. */
#define MAX_HOST 255

typedef struct status_opts {
    const char *host;
    int port;
    bool json;
} status_opts;

typedef struct response {
    int status;
    char reason[64];
    sl_buf body; /* dechunked */
} response;

/* How the body is delimited, from the headers. */
typedef struct framing {
    bool chunked;
    bool has_length;
    size_t length;
} framing;

static void status_usage(FILE *to)
{
    fprintf(to,
            "usage: sluice status [--host H] [--port N] [--json]\n"
            "\n"
            "Prints the functions and containers of the sluice server at H:N\n"
            "(default 127.0.0.1:8000); --json prints its status document instead.\n");
}

/* 0, 1 for --help, or -1 after a message. */
static int parse_status_args(int argc, char **argv, status_opts *o)
{
    *o = (status_opts){"127.0.0.1", 8000, false};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--host") == 0) {
            if (!v || !*v || strlen(v) > MAX_HOST) {
                fprintf(stderr, "sluice status: --host wants a name or address\n");
                return -1;
            }
            o->host = v;
            i++;
        } else if (strcmp(a, "--port") == 0) {
            char *end;
            long p = v ? strtol(v, &end, 10) : 0;
            if (!v || !*v || *end || p < 1 || p > 65535) {
                fprintf(stderr, "sluice status: --port wants 1..65535\n");
                return -1;
            }
            o->port = (int)p;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else {
            fprintf(stderr, "sluice status: bad option %s\n", a);
            return -1;
        }
    }
    return 0;
}

/* "host:port", with an IPv6 literal bracketed, as both messages and the Host header want it. */
static void format_where(const status_opts *o, char *where, size_t n)
{
    bool v6 = strchr(o->host, ':') != NULL;
    snprintf(where, n, v6 ? "[%s]:%d" : "%s:%d", o->host, o->port);
}

/* Without timeouts a server that accepts but never answers would hang the
 * command; on Linux SO_SNDTIMEO bounds connect() as well. */
static int set_timeouts(int fd)
{
    struct timeval tv = {STATUS_TIMEOUT_S, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return -errno;
    return 0;
}

/* A connected socket, or -errno. */
static int connect_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int r = set_timeouts(fd);
    /* A connect() cut short by SO_SNDTIMEO reports EINPROGRESS. */
    if (!r && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        r = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
    if (r) {
        close(fd);
        return r;
    }
    return fd;
}

/* Tries each address the host resolves to; a socket, or -errno after a message. */
static int connect_server(const status_opts *o, const char *where)
{
    char port[8];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list;
    int g = getaddrinfo(o->host, port, &hints, &list);
    if (g) {
        fprintf(stderr, "sluice status: cannot connect to %s: %s\n", where,
                g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int fd = -EADDRNOTAVAIL;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
        if ((fd = connect_one(ai)) >= 0)
            break;
    freeaddrinfo(list);
    if (fd < 0)
        fprintf(stderr, "sluice status: cannot connect to %s: %s\n", where, strerror(-fd));
    return fd;
}

/* The timeouts make a stalled peer show up as EAGAIN; say what it means. */
static int io_error(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK ? -ETIMEDOUT : -e;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        /* MSG_NOSIGNAL: a server that hung up is an error message, not SIGPIPE. */
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return io_error(errno);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "HTTP/1.x NNN reason". */
static int parse_status_line(const char *s, size_t n, response *res)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' || !is_digit(s[9]) ||
        !is_digit(s[10]) || !is_digit(s[11]) || (n > 12 && s[12] != ' '))
        return -EPROTO;
    res->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    size_t len = n > 13 ? n - 13 : 0;
    if (len >= sizeof res->reason)
        len = sizeof res->reason - 1;
    memcpy(res->reason, s + 13, len);
    res->reason[len] = '\0';
    return 0;
}

static bool names_equal(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

static int parse_content_length(const char *v, size_t n, framing *f)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return -EPROTO;
        len = len * 10 + (size_t)(v[i] - '0');
        if (len > MAX_RESPONSE)
            return -EFBIG;
    }
    if (n == 0 || (f->has_length && f->length != len))
        return -EPROTO;
    f->has_length = true;
    f->length = len;
    return 0;
}

/* Notes the two headers that delimit the body; the rest are of no use here. */
static int parse_header(const char *s, size_t n, framing *f)
{
    const char *colon = memchr(s, ':', n), *end = s + n;
    if (!colon || colon == s)
        return -EPROTO;
    const char *v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t name_len = (size_t)(colon - s), vn = (size_t)(end - v);
    if (names_equal(s, name_len, "content-length"))
        return parse_content_length(v, vn, f);
    /* chunked is always the last coding when present. */
    if (names_equal(s, name_len, "transfer-encoding"))
        f->chunked = vn >= 7 && strncasecmp(end - 7, "chunked", 7) == 0;
    return 0;
}

/* The status line and headers in [p, end), end just past the last header's CRLF. */
static int parse_head(const char *p, const char *end, response *res, framing *f)
{
    *f = (framing){false, false, 0};
    for (bool first = true; p < end; first = false) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) /* cannot happen while end follows a CRLF; gcc cannot tell */
            return -EPROTO;
        size_t n = (size_t)(eol - p);
        int r = first ? parse_status_line(p, n, res) : parse_header(p, n, f);
        if (r)
            return r;
        p = eol + 2;
    }
    return 0;
}

/* "SIZE[;ext]" up to eol. */
static int parse_chunk_size(const char *p, const char *eol, size_t *size)
{
    size_t v = 0;
    const char *q = p;
    for (int d; q < eol && (d = hex_value(*q)) >= 0; q++) {
        v = v * 16 + (size_t)d;
        if (v > MAX_RESPONSE)
            return -EFBIG;
    }
    if (q == p || (q < eol && *q != ';' && *q != ' ' && *q != '\t'))
        return -EPROTO;
    *size = v;
    return 0;
}

/* Trailer lines up to the empty line that ends a chunked body. */
static int skip_trailers(const char *p, size_t n)
{
    for (;;) {
        const char *eol = memmem(p, n, "\r\n", 2);
        if (!eol)
            return -EAGAIN;
        if (eol == p)
            return 0;
        n -= (size_t)(eol + 2 - p);
        p = eol + 2;
    }
}

/* Walks a chunked body: 0 when it is complete (its data appended to out
 * unless out is NULL), -EAGAIN when more must be read, or -EPROTO. */
static int walk_chunks(const char *p, size_t n, sl_buf *out)
{
    size_t i = 0;
    for (;;) {
        const char *eol = memmem(p + i, n - i, "\r\n", 2);
        if (!eol)
            return -EAGAIN;
        size_t size;
        int r = parse_chunk_size(p + i, eol, &size);
        if (r)
            return r;
        i = (size_t)(eol - p) + 2;
        if (size == 0)
            return skip_trailers(p + i, n - i);
        if (n - i < size + 2)
            return -EAGAIN;
        if (memcmp(p + i + size, "\r\n", 2) != 0)
            return -EPROTO;
        if (out && sl_buf_append(out, p + i, size))
            return -ENOMEM;
        i += size + 2;
    }
}

/* Parses what has arrived so far: 0 with the body in res->body once the
 * response is whole, -EAGAIN when more must be read, else -errno. */
static int parse_response(const char *p, size_t n, bool eof, response *res)
{
    const char *head_end = memmem(p, n, "\r\n\r\n", 4);
    if (!head_end)
        return eof ? -EPROTO : -EAGAIN;
    framing f;
    int r = parse_head(p, head_end + 2, res, &f);
    if (r)
        return r;
    const char *body = head_end + 4;
    size_t avail = (size_t)(p + n - body);
    /* Chunked wins over Content-Length (RFC 9112 6.3); with neither, the body ends at EOF. */
    if (f.chunked) {
        r = walk_chunks(body, avail, NULL);
        if (!r)
            r = walk_chunks(body, avail, &res->body);
    } else if (f.has_length) {
        r = avail < f.length ? -EAGAIN : sl_buf_append(&res->body, body, f.length);
    } else {
        r = eof ? sl_buf_append(&res->body, body, avail) : -EAGAIN;
    }
    return r == -EAGAIN && eof ? -EPROTO : r;
}

/* Reads until the response is whole (the server may not close first). */
static int read_response(int fd, response *res)
{
    sl_buf raw = {0};
    int r;
    for (;;) {
        if (raw.len >= MAX_RESPONSE) {
            r = -EFBIG;
            break;
        }
        if ((r = sl_buf_reserve(&raw, 16384)))
            break;
        ssize_t got = recv(fd, raw.data + raw.len, raw.cap - raw.len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = io_error(errno);
            break;
        }
        raw.len += (size_t)got;
        r = parse_response((const char *)raw.data, raw.len, got == 0, res);
        if (r != -EAGAIN)
            break;
    }
    sl_buf_free(&raw);
    return r;
}

static const char *read_error_text(int r)
{
    switch (r) {
    case -EPROTO: return "incomplete or malformed HTTP response";
    case -EFBIG: return "response larger than 64 MiB";
    case -ETIMEDOUT: return "no answer within " STR(STATUS_TIMEOUT_S) " s";
    default: return strerror(-r);
    }
}

/* One GET over a fresh connection; 0, or -errno after a message. */
static int get_status(const status_opts *o, const char *where, response *res)
{
    int fd = connect_server(o, where);
    if (fd < 0)
        return fd;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /_sluice/status HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                     "User-Agent: sluice-status\r\nConnection: close\r\n\r\n",
                     where);
    int r = send_all(fd, req, (size_t)n);
    if (r)
        fprintf(stderr, "sluice status: cannot send to %s: %s\n", where, strerror(-r));
    else if ((r = read_response(fd, res)))
        fprintf(stderr, "sluice status: bad answer from %s: %s\n", where, read_error_text(r));
    close(fd);
    if (!r && res->status != 200) {
        fprintf(stderr, "sluice status: %s answered %d %s\n", where, res->status, res->reason);
        r = -EPROTO;
    }
    return r;
}

/* The status document, or NULL after a message. */
static json_t *fetch_document(const status_opts *o, const char *where)
{
    response res = {0};
    json_t *doc = NULL;
    int r = get_status(o, where, &res);
    if (!r && res.body.len == 0) {
        fprintf(stderr, "sluice status: %s sent an empty status document\n", where);
    } else if (!r) {
        json_error_t err;
        doc = json_loadb((const char *)res.body.data, res.body.len, JSON_DECODE_ANY, &err);
        if (!doc)
            fprintf(stderr, "sluice status: %s sent a status document that is not JSON: %s (line %d)\n", where,
                    err.text, err.line);
    }
    sl_buf_free(&res.body);
    return doc;
}

/* The document's strings are data and must not drive the terminal. */
static void print_text(const char *s)
{
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_int(json_t *v, int width)
{
    if (json_is_integer(v))
        printf("%*" JSON_INTEGER_FORMAT, width, json_integer_value(v));
    else
        printf("%*s", width, "-");
}

/* "  label    key N  key N ..." for a counters object; "-" for a missing count. */
static void print_counts(const char *label, json_t *obj, const char *const *keys)
{
    if (!json_is_object(obj))
        return;
    printf("  %-12s", label);
    for (int i = 0; keys[i]; i++) {
        printf("%s%s ", i ? "  " : "", keys[i]);
        print_int(json_object_get(obj, keys[i]), 0);
    }
    putchar('\n');
}

static bool any_gpu(json_t *containers)
{
    size_t i;
    json_t *ct;
    json_array_foreach(containers, i, ct)
    {
        const char *gpu = json_string_value(json_object_get(ct, "gpu"));
        if (gpu && *gpu) /* "" is a container without GPUs */
            return true;
    }
    return false;
}

static void print_container(json_t *ct, bool gpu_column)
{
    const char *state = json_string_value(json_object_get(ct, "state"));
    const char *gpu = json_string_value(json_object_get(ct, "gpu"));
    printf("  ");
    print_int(json_object_get(ct, "id"), 6);
    printf("  ");
    print_int(json_object_get(ct, "pid"), 8);
    printf("  %-9s  ", state ? state : "-");
    print_int(json_object_get(ct, "inputs_in_flight"), 9);
    if (gpu_column) {
        printf("  ");
        print_text(gpu ? gpu : "-");
    }
    putchar('\n');
}

static void print_containers(json_t *containers)
{
    if (!json_is_array(containers))
        return;
    if (json_array_size(containers) == 0) {
        printf("  no containers\n");
        return;
    }
    bool gpu_column = any_gpu(containers);
    printf("  %6s  %8s  %-9s  %9s%s\n", "id", "pid", "state", "in flight", gpu_column ? "  gpu" : "");
    size_t i;
    json_t *ct;
    json_array_foreach(containers, i, ct)
        print_container(ct, gpu_column);
}

static void print_function(json_t *fn)
{
    static const char *const calls[] = {"started", "succeeded", "failed", "cancelled", NULL};
    static const char *const lifecycle[] = {"started", "lost", "killed", NULL};
    const char *name = json_string_value(json_object_get(fn, "name"));
    const char *gpu = json_string_value(json_object_get(fn, "gpu"));
    json_t *web = json_object_get(fn, "web");
    print_text(name ? name : "?");
    if (json_is_boolean(web))
        fputs(json_is_true(web) ? "  web" : "  not web", stdout);
    if (gpu && *gpu) {
        printf("  gpu ");
        print_text(gpu);
    }
    printf("\n  %-12s", "queued");
    print_int(json_object_get(fn, "queued"), 0);
    putchar('\n');
    print_counts("calls", json_object_get(fn, "calls"), calls);
    print_counts("containers", json_object_get(fn, "containers_lifecycle"), lifecycle);
    print_containers(json_object_get(fn, "containers"));
}

/* 0, or -EPROTO after a message when the document has no functions list. */
static int print_table(json_t *doc, const char *where)
{
    json_t *fns = json_object_get(doc, "functions");
    if (!json_is_array(fns)) {
        fprintf(stderr, "sluice status: %s sent a status document without a functions list\n", where);
        return -EPROTO;
    }
    json_t *streams = json_object_get(doc, "open_streams");
    if (streams) {
        printf("open streams: ");
        print_int(streams, 0);
        printf("\n\n");
    }
    if (json_array_size(fns) == 0)
        printf("no functions\n");
    size_t i;
    json_t *fn;
    json_array_foreach(fns, i, fn) {
        if (i)
            putchar('\n');
        print_function(fn);
    }
    return 0;
}

static int print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!text) {
        fprintf(stderr, "sluice status: cannot print the status document: %s\n", strerror(ENOMEM));
        return -ENOMEM;
    }
    puts(text);
    free(text);
    return 0;
}

int sl_status_main(int argc, char **argv)
{
    status_opts o;
    int r = parse_status_args(argc, argv, &o);
    if (r) {
        status_usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    char where[MAX_HOST + 16];
    format_where(&o, where, sizeof where);
    json_t *doc = fetch_document(&o, where);
    if (!doc)
        return 1;
    r = o.json ? print_json(doc) : print_table(doc, where);
    json_decref(doc);
    /* A full disk or closed pipe must not look like success. */
    if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "sluice status: cannot write the output: %s\n", strerror(errno));
        return 1;
    }
    return r ? 1 : 0;
}
