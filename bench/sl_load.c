/*
 * sl-load: an HTTP/1.1 load client for streaming (SSE) endpoints.
 *
 * Opens N concurrent connections to one URL, sends one GET on each and
 * follows each response to its end, counting SSE events as they arrive.
 * Single thread, epoll, non-blocking sockets, one shared 256 KiB read buffer.
 *
 *   sl-load --url http://127.0.0.1:8000/stream_me -c 200 \
 *           --expect-events 10 --interval 0.5 --json
 *
 * Per connection it records: request start (just before its connect()), first and
 * last event time, event count, status, body bytes, whether the body ended
 * cleanly (the final 0-length chunk, or the full Content-Length) and whether
 * the body had an "event: error" line.
 *
 * Event times are arrival times: the kernel's receive stamp of the data
 * (SO_TIMESTAMPING), not the time this one thread got round to reading it.
 * While it opens 10,000 connections, data can wait in a socket for 10 ms
 * and more; that is the client's delay, not the server's, and it is
 * reported apart, as "read lag". (--bytes runs read without stamps.)
 *
 * Events follow SSE: a block of lines ended by a blank line ("\n\n", CRLF
 * tolerated) is one event if at least one of its lines is not a comment;
 * comment-only blocks (": ping\n\n") are counted apart, as pings.  Blank
 * lines that follow a blank line end nothing.
 *
 * A body delimited only by the connection closing (no Content-Length, not
 * chunked) is never "clean": truncation could not be told from the end.
 *
 * Exit status: 0 iff every client is ok; 1 if any is not; 2 on usage or
 * setup errors.  "ok" = status 200, clean end, and, with --expect-events K,
 * exactly K events and no "event: error".
 *
 * Only loopback is meant to be targeted: the host must be an IPv4 literal
 * or "localhost".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (256 * 1024)
#define HDR_MAX (64 * 1024)
#define LINE_PREFIX 16 /* bytes of each body line kept, to classify it */
#define MAX_EVENTS 1024
#define STARTS_PER_TURN 256 /* connects per loop turn, so reads interleave */
#define MAX_FAIL_PRINT 5

/* ------------------------------------------------------------------ time */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The kernel stamps received data with CLOCK_REALTIME; this is monotonic
   minus realtime, taken once at start. */
static int64_t mono_minus_real;

static void clocks_init(void) {
    struct timespec r;
    int64_t m0 = now_ns();
    clock_gettime(CLOCK_REALTIME, &r);
    int64_t m1 = now_ns();
    mono_minus_real = (m0 + m1) / 2 - ((int64_t)r.tv_sec * 1000000000 + r.tv_nsec);
}

/* ----------------------------------------------------------- connections */

enum conn_state {
    ST_PENDING = 0, /* not started yet */
    ST_CONNECTING,
    ST_SENDING,
    ST_HEAD, /* reading the status line and headers */
    ST_BODY,
    ST_DONE, /* finished (cleanly or not); socket closed */
};

enum body_mode { BM_NONE, BM_LENGTH, BM_CHUNKED, BM_CLOSE };

enum chunk_state {
    CK_SIZE,       /* hex digits of a chunk size */
    CK_SIZE_REST,  /* after the digits: extensions, up to LF */
    CK_DATA,       /* chunk payload */
    CK_DATA_CR,    /* CR after the payload */
    CK_DATA_LF,    /* LF after the payload */
    CK_TRAILER_BOL, /* start of a trailer line (or the final empty line) */
    CK_TRAILER_CR, /* saw CR at the start of a line: expect LF, then done */
    CK_TRAILER,    /* inside a trailer line, up to LF */
};

enum fail_reason {
    FR_NONE = 0,
    FR_CONNECT,   /* connect() failed: see err */
    FR_SOCKET,    /* socket() failed (EMFILE...): see err */
    FR_WRITE,     /* sending the request failed */
    FR_READ,      /* read() failed (ECONNRESET...) */
    FR_EOF_HEAD,  /* connection closed before the end of the headers */
    FR_BAD_HEAD,  /* unparseable status line or headers */
    FR_EOF_BODY,  /* connection closed before the end of the body */
    FR_BAD_CHUNK, /* malformed chunked encoding */
    FR_CLOSE_DELIMITED, /* body ended by close: cannot be called clean */
    FR_TIMEOUT,
};

static const char *reason_str(int r) {
    switch (r) {
    case FR_NONE: return "-";
    case FR_CONNECT: return "connect failed";
    case FR_SOCKET: return "socket failed";
    case FR_WRITE: return "write failed";
    case FR_READ: return "read failed";
    case FR_EOF_HEAD: return "closed before end of headers";
    case FR_BAD_HEAD: return "bad response head";
    case FR_EOF_BODY: return "closed before end of body";
    case FR_BAD_CHUNK: return "bad chunked encoding";
    case FR_CLOSE_DELIMITED: return "close-delimited body (no length)";
    case FR_TIMEOUT: return "timeout";
    }
    return "?";
}

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t body_mode;
    uint8_t chunk_state;
    uint8_t reason;   /* enum fail_reason */
    bool clean;       /* body ended by final chunk / full Content-Length */
    bool saw_error;   /* an "event: error" line */
    bool in_event;    /* a non-comment line since the last event end */
    bool in_comment_block;
    uint8_t line_len; /* bytes kept in line[] for the current line */
    uint8_t chunk_digits; /* hex digits read of the current chunk size */
    bool line_long;   /* current line is longer than LINE_PREFIX */
    int16_t status;
    int err;          /* errno for FR_CONNECT/FR_SOCKET/FR_READ/FR_WRITE */
    uint32_t sent;    /* request bytes written */
    uint32_t hdr_len;
    char *hdr;        /* head bytes, only while a head spans reads */
    uint64_t remaining; /* BM_LENGTH: body bytes left; BM_CHUNKED: chunk bytes left */
    uint64_t events;
    uint64_t pings;   /* comment-only blocks */
    uint64_t body_bytes;
    int64_t t_start, t_head, t_first, t_last, t_end; /* ns, monotonic; 0 = never */
    char line[LINE_PREFIX];
} conn;

/* ---------------------------------------------------------------- config */

static struct {
    const char *url;
    char host[256];
    int port;
    char target[4096];
    long conns;
    long expect; /* -1: not given */
    double interval;
    bool interval_given;
    double ramp;
    double timeout;
    bool bytes_mode;
    bool json;
    bool quiet;
    const char *times; /* --times FILE */
    bool stamps;       /* event times from the kernel's receive stamps */
} cfg = {.conns = 1, .expect = -1, .timeout = 60.0};

static struct sockaddr_in server_addr;
static char request[4096 + 512];
static size_t request_len;
static unsigned char rbuf[RBUF_SIZE];
static int epfd;
static conn *conns;
static long n_active; /* started and not yet done */
static long n_done;
static long n_draining; /* done cleanly, waiting for the server to close */

/* ------------------------------------------------------------- finishing */

static void conn_finish(conn *c, int64_t t, int reason, int err) {
    if (c->state == ST_DONE)
        return;
    if (c->state != ST_PENDING)
        n_active--;
    if (c->fd >= 0 && c->clean) {
        /* We asked for "Connection: close": the server closes first, and
           the TIME_WAIT is its own. Closing here, first, left one in this
           host's port space per client, and a second burst's connect()
           calls then slowed down looking for free ports. */
        n_draining++;
    } else if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    free(c->hdr);
    c->hdr = NULL;
    c->hdr_len = 0;
    c->state = ST_DONE;
    if (!c->clean && c->reason == FR_NONE) {
        c->reason = (uint8_t)reason;
        c->err = err;
    }
    c->t_end = t;
    n_done++;
}

/* ----------------------------------------------------------- SSE scanning */

static void line_end(conn *c, int64_t t) {
    size_t n = c->line_len;
    bool blank = !c->line_long && (n == 0 || (n == 1 && c->line[0] == '\r'));
    if (blank) {
        if (c->in_event) {
            c->events++;
            if (c->events == 1)
                c->t_first = t;
            c->t_last = t;
        } else if (c->in_comment_block) {
            c->pings++;
        }
        c->in_event = false;
        c->in_comment_block = false;
    } else if (c->line[0] == ':') {
        c->in_comment_block = true;
    } else {
        c->in_event = true;
        /* "event: error" / "event:error" (value may be followed by CR) */
        if (n >= 11 && memcmp(c->line, "event:", 6) == 0) {
            const char *v = c->line + 6;
            size_t vn = n - 6;
            if (*v == ' ') {
                v++;
                vn--;
            }
            if (vn >= 5 && memcmp(v, "error", 5) == 0 &&
                (vn == 5 || (vn == 6 && v[5] == '\r' && !c->line_long)))
                c->saw_error = true;
        }
    }
    c->line_len = 0;
    c->line_long = false;
}

/* Body payload bytes (already de-chunked). */
static void body_data(conn *c, const unsigned char *p, size_t n, int64_t t) {
    const unsigned char *end = p + n;
    c->body_bytes += n;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        const unsigned char *seg_end = nl ? nl : end;
        size_t seg = (size_t)(seg_end - p);
        if (seg) {
            size_t room = LINE_PREFIX - c->line_len;
            if (seg <= room) {
                memcpy(c->line + c->line_len, p, seg);
                c->line_len = (uint8_t)(c->line_len + seg);
            } else {
                memcpy(c->line + c->line_len, p, room);
                c->line_len = LINE_PREFIX;
                c->line_long = true;
            }
        }
        if (!nl)
            break;
        line_end(c, t);
        p = nl + 1;
    }
}

/* ------------------------------------------------------------ body framing */

/* Feed raw body bytes.  Returns false if the connection is finished. */
static bool body_input(conn *c, const unsigned char *p, size_t n, int64_t t) {
    const unsigned char *end = p + n;
    switch (c->body_mode) {
    case BM_CLOSE:
        body_data(c, p, n, t);
        return true;
    case BM_LENGTH: {
        size_t take = n < c->remaining ? n : (size_t)c->remaining;
        body_data(c, p, take, t);
        c->remaining -= take;
        if (c->remaining == 0) {
            c->clean = true;
            conn_finish(c, t, FR_NONE, 0);
            return false;
        }
        return true;
    }
    case BM_CHUNKED:
        break;
    default:
        return true;
    }
    while (p < end) {
        switch (c->chunk_state) {
        case CK_SIZE: {
            unsigned char ch = *p;
            int v;
            if (ch >= '0' && ch <= '9') v = ch - '0';
            else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
            else v = -1;
            if (v >= 0) {
                if (c->remaining > (UINT64_MAX >> 4) || c->chunk_digits >= 16)
                    goto bad;
                c->remaining = (c->remaining << 4) | (uint64_t)v;
                c->chunk_digits++;
                p++;
                break;
            }
            if (c->chunk_digits == 0)
                goto bad; /* no digits */
            c->chunk_digits = 0;
            c->chunk_state = CK_SIZE_REST;
            break; /* re-examine this byte */
        }
        case CK_SIZE_REST: {
            const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                return true; /* extensions / CR continue in the next read */
            p = nl + 1;
            c->chunk_state = c->remaining ? CK_DATA : CK_TRAILER_BOL;
            break;
        }
        case CK_DATA: {
            size_t avail = (size_t)(end - p);
            size_t take = avail < c->remaining ? avail : (size_t)c->remaining;
            body_data(c, p, take, t);
            p += take;
            c->remaining -= take;
            if (c->remaining == 0)
                c->chunk_state = CK_DATA_CR;
            break;
        }
        case CK_DATA_CR:
            if (*p == '\r') {
                c->chunk_state = CK_DATA_LF;
                p++;
            } else if (*p == '\n') { /* tolerate a bare LF */
                c->chunk_state = CK_SIZE;
                p++;
            } else {
                goto bad;
            }
            break;
        case CK_DATA_LF:
            if (*p != '\n')
                goto bad;
            c->chunk_state = CK_SIZE;
            p++;
            break;
        case CK_TRAILER_BOL:
            if (*p == '\r') {
                c->chunk_state = CK_TRAILER_CR;
                p++;
                break;
            }
            if (*p == '\n')
                goto done;
            c->chunk_state = CK_TRAILER;
            break;
        case CK_TRAILER_CR:
            if (*p != '\n')
                goto bad;
            goto done;
        case CK_TRAILER: {
            const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                return true;
            p = nl + 1;
            c->chunk_state = CK_TRAILER_BOL;
            break;
        }
        }
    }
    return true;
done:
    c->clean = true;
    conn_finish(c, t, FR_NONE, 0);
    return false;
bad:
    conn_finish(c, t, FR_BAD_CHUNK, 0);
    return false;
}

/* ------------------------------------------------------------ head parsing */

/* Find the end of a response head ("\r\n\r\n" or "\n\n"); returns the index
   just past it, or 0. Search starts at `from`. */
static size_t head_end(const char *b, size_t len, size_t from) {
    for (size_t i = from; i < len; i++) {
        const char *nl = memchr(b + i, '\n', len - i);
        if (!nl)
            return 0;
        i = (size_t)(nl - b);
        if (i + 1 < len && b[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static bool token_has_chunked(const char *v, size_t n) {
    /* Transfer-Encoding: the last coding must be "chunked" for us to care. */
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
        n--;
    return n >= 7 && strncasecmp(v + n - 7, "chunked", 7) == 0 &&
           (n == 7 || v[n - 8] == ' ' || v[n - 8] == ',' || v[n - 8] == '\t');
}

/* Parse a complete head b[0..len). Returns false on a malformed head. */
static bool parse_head(conn *c, const char *b, size_t len) {
    /* status line: HTTP/1.x SSS ... */
    if (len < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
        return false;
    if (b[9] < '0' || b[9] > '9' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
        return false;
    c->status = (int16_t)((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
    const char *p = memchr(b, '\n', len);
    if (!p)
        return false;
    p++;
    const char *end = b + len;
    bool have_len = false, chunked = false;
    uint64_t clen = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return false;
        size_t ln = (size_t)(nl - p);
        if (ln && p[ln - 1] == '\r')
            ln--;
        if (ln == 0)
            break;
        const char *colon = memchr(p, ':', ln);
        if (!colon)
            return false;
        size_t nn = (size_t)(colon - p);
        const char *v = colon + 1;
        size_t vn = ln - nn - 1;
        while (vn && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
            vn--;
        if (nn == 14 && strncasecmp(p, "content-length", 14) == 0) {
            uint64_t x = 0;
            if (vn == 0)
                return false;
            for (size_t i = 0; i < vn; i++) {
                if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
                    return false;
                x = x * 10 + (uint64_t)(v[i] - '0');
            }
            if (have_len && x != clen)
                return false;
            have_len = true;
            clen = x;
        } else if (nn == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
            chunked = token_has_chunked(v, vn);
        }
        p = nl + 1;
    }
    c->remaining = 0;
    c->chunk_digits = 0;
    if (c->status == 204 || c->status == 304) {
        c->body_mode = BM_NONE;
    } else if (chunked) {
        c->body_mode = BM_CHUNKED;
        c->chunk_state = CK_SIZE;
    } else if (have_len) {
        c->body_mode = clen ? BM_LENGTH : BM_NONE;
        c->remaining = clen;
    } else {
        c->body_mode = BM_CLOSE;
    }
    return true;
}

/* Bytes while in ST_HEAD. Returns false if the connection is finished. */
static bool head_input(conn *c, const unsigned char *p, size_t n, int64_t t) {
    while (n > 0 && c->state == ST_HEAD) {
        const char *b;
        size_t blen, e, consumed;
        if (c->hdr_len == 0) {
            /* fast path: the whole head in this read, parse it in place */
            e = head_end((const char *)p, n, 0);
            if (e) {
                b = (const char *)p;
                blen = e;
                consumed = e;
                goto parse;
            }
        }
        {
            size_t old = c->hdr_len;
            size_t room = HDR_MAX - old;
            size_t take = n < room ? n : room;
            if (!c->hdr) {
                c->hdr = malloc(HDR_MAX);
                if (!c->hdr) {
                    conn_finish(c, t, FR_BAD_HEAD, ENOMEM);
                    return false;
                }
            }
            memcpy(c->hdr + old, p, take);
            c->hdr_len = (uint32_t)(old + take);
            e = head_end(c->hdr, c->hdr_len, old >= 2 ? old - 2 : 0);
            if (!e) {
                if (c->hdr_len >= HDR_MAX) {
                    conn_finish(c, t, FR_BAD_HEAD, 0);
                    return false;
                }
                return true; /* need more */
            }
            b = c->hdr;
            blen = e;
            consumed = e - old;
        }
    parse:
        if (!parse_head(c, b, blen)) {
            conn_finish(c, t, FR_BAD_HEAD, 0);
            return false;
        }
        free(c->hdr);
        c->hdr = NULL;
        c->hdr_len = 0;
        p += consumed;
        n -= consumed;
        if (c->status >= 100 && c->status < 200 && c->status != 101)
            continue; /* interim response: another head follows */
        if (c->body_mode == BM_NONE) {
            c->clean = true;
            conn_finish(c, t, FR_NONE, 0);
            return false;
        }
        c->state = ST_BODY;
        c->t_head = t;
    }
    if (c->state == ST_BODY && n > 0)
        return body_input(c, p, n, t);
    return c->state != ST_DONE;
}

/* ------------------------------------------------------------------- I/O */

/* A finished connection's socket: anything more is dropped; the server's
   close (or an error) closes it here too. */
static void conn_drain(conn *c) {
    for (;;) {
        ssize_t r = read(c->fd, rbuf, sizeof rbuf);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        close(c->fd);
        c->fd = -1;
        n_draining--;
        return;
    }
}

/* Waits up to `ms` for the servers to close what ended cleanly, then
   closes the rest. */
static void drain_all(int ms) {
    struct epoll_event evs[MAX_EVENTS];
    int64_t until = now_ns() + (int64_t)ms * 1000000;
    while (n_draining > 0) {
        int64_t left = until - now_ns();
        if (left <= 0)
            break;
        int n = epoll_wait(epfd, evs, MAX_EVENTS, (int)((left + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->fd >= 0)
                conn_drain(c);
        }
    }
    for (long i = 0; i < cfg.conns; i++)
        if (conns[i].fd >= 0) {
            close(conns[i].fd);
            conns[i].fd = -1;
        }
    n_draining = 0;
}

static void conn_start(conn *c, int64_t t) {
    c->t_start = t;
    c->state = ST_CONNECTING;
    n_active++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_finish(c, t, FR_SOCKET, errno);
        return;
    }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.stamps) {
        int how = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
        if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &how, sizeof how) < 0)
            cfg.stamps = false; /* times are then read times, as before */
    }
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0 &&
        errno != EINPROGRESS) {
        conn_finish(c, t, FR_CONNECT, errno);
        return;
    }
    /* On loopback the handshake is usually over when connect() returns, so
       the request goes at once: waiting for EPOLLOUT first put an epoll
       round (and a getsockopt and an epoll_ctl) between each connect and
       its request, which in a 10,000-connect burst held requests back while
       the client was busy connecting the rest. Until connected, send() says
       EAGAIN, and then we wait for EPOLLOUT as before (conn_writable). */
    ssize_t w = send(fd, request, request_len, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR && errno != ENOTCONN) {
        conn_finish(c, t, FR_CONNECT, errno);
        return;
    }
    if (w > 0) {
        c->sent = (uint32_t)w;
        c->state = c->sent == request_len ? ST_HEAD : ST_SENDING;
    }
    struct epoll_event ev = {.events = c->state == ST_HEAD ? EPOLLIN | EPOLLRDHUP : EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        conn_finish(c, t, FR_SOCKET, errno);
        return;
    }
}

static void conn_writable(conn *c, int64_t t) {
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            conn_finish(c, t, FR_CONNECT, err);
            return;
        }
        c->state = ST_SENDING;
    }
    while (c->sent < request_len) {
        ssize_t w = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            conn_finish(c, t, FR_WRITE, errno);
            return;
        }
        c->sent += (uint32_t)w;
    }
    c->state = ST_HEAD;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        conn_finish(c, t, FR_SOCKET, errno);
}

/* Read lag: how long received bytes waited in the socket for this client
   to read them (from the kernel's receive timestamps). Large values mean
   the load client, not the server, made events late. */
static double *lag_ms;
static size_t n_lag, cap_lag;

static void note_lag(int64_t read_t, int64_t arrived) {
    if (n_lag == cap_lag) {
        size_t cap = cap_lag ? cap_lag * 2 : 65536;
        double *p = realloc(lag_ms, cap * sizeof *p);
        if (!p)
            return; /* a statistic only: keep the ones we have */
        lag_ms = p;
        cap_lag = cap;
    }
    lag_ms[n_lag++] = (double)(read_t - arrived) / 1e6;
}

/* One read; *arrived = when the kernel received the last of its bytes
   (monotonic ns), or the read time if the kernel gave no stamp. */
static ssize_t read_stamped(int fd, int64_t *arrived) {
    struct iovec iov = {.iov_base = rbuf, .iov_len = sizeof rbuf};
    union {
        char buf[CMSG_SPACE(sizeof(struct scm_timestamping))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t r = recvmsg(fd, &m, 0);
    int64_t t = now_ns();
    *arrived = t;
    if (r <= 0)
        return r;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_TIMESTAMPING)
            continue;
        struct scm_timestamping st;
        memcpy(&st, CMSG_DATA(h), sizeof st);
        int64_t k = (int64_t)st.ts[0].tv_sec * 1000000000 + st.ts[0].tv_nsec;
        if (k && k + mono_minus_real <= t) {
            *arrived = k + mono_minus_real;
            note_lag(t, *arrived);
        }
    }
    return r;
}

static void conn_readable(conn *c) {
    /* A few reads per wakeup: drains a firehose with fewer epoll_waits,
       yet stays fair among thousands of connections (level-triggered). */
    for (int round = 0; round < 8; round++) {
        int64_t t;
        ssize_t r = read_stamped(c->fd, &t);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            conn_finish(c, t, FR_READ, errno);
            return;
        }
        if (r == 0) {
            if (c->state == ST_HEAD) {
                conn_finish(c, t, FR_EOF_HEAD, 0);
            } else if (c->body_mode == BM_CLOSE) {
                conn_finish(c, t, FR_CLOSE_DELIMITED, 0);
            } else {
                conn_finish(c, t, FR_EOF_BODY, 0);
            }
            return;
        }
        bool alive = c->state == ST_HEAD ? head_input(c, rbuf, (size_t)r, t)
                                         : body_input(c, rbuf, (size_t)r, t);
        if (!alive || (size_t)r < sizeof rbuf)
            return;
    }
}

/* ----------------------------------------------------------------- stats */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double q) {
    if (n == 0)
        return NAN;
    size_t k = (size_t)ceil(q / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void json_num(FILE *f, double x, int prec) {
    if (isnan(x))
        fputs("null", f);
    else
        fprintf(f, "%.*f", prec, x);
}

/* "name":{"p50":..,"p99":..[,"max":..],"n":N}, then a comma. */
static void json_spread(const char *name, double p50, double p99, bool with_max, double max,
                        size_t n) {
    printf("\"%s\":{\"p50\":", name);
    json_num(stdout, p50, 3);
    printf(",\"p99\":");
    json_num(stdout, p99, 3);
    if (with_max) {
        printf(",\"max\":");
        json_num(stdout, max, 3);
    }
    printf(",\"n\":%zu},", n);
}

static bool conn_ok(const conn *c) {
    if (c->status != 200 || !c->clean)
        return false;
    if (cfg.expect >= 0 && (c->events != (uint64_t)cfg.expect || c->saw_error))
        return false;
    return true;
}

/* ------------------------------------------------------------------ args */

static void usage(FILE *f) {
    fputs("usage: sl-load --url http://127.0.0.1:PORT/path[?query] [options]\n"
          "  -c N                concurrent connections, one GET each (default 1)\n"
          "  --expect-events K   ok = status 200, clean end, exactly K events, no event: error\n"
          "  --interval S        expected spacing of events (for lateness; default 0)\n"
          "  --ramp S            spread connection starts evenly over S seconds (default 0)\n"
          "  --timeout S         overall limit, from start (default 60)\n"
          "  --bytes             throughput mode: report events/s and MB/s\n"
          "  --json              one JSON line on stdout\n"
          "  -q                  no human summary (with --json: JSON only)\n"
          "  --times FILE        one CSV line per client: start (ms after the first\n"
          "                      start), then head, first event, last event and end\n"
          "                      (ms after its own start; empty: never), events\n"
          "lateness of a client = t(last event) - (t(start) + (K-1)*interval),\n"
          "K = --expect-events, or the client's own count; over clients with K events.\n",
          f);
}

static bool parse_double(const char *s, double *out) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= 0) || isinf(v))
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long *out) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < 0)
        return false;
    *out = v;
    return true;
}

static bool parse_url(const char *url) {
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0) {
        fprintf(stderr, "sl-load: only http:// URLs are supported: %s\n", url);
        return false;
    }
    p += 7;
    size_t hl = strcspn(p, ":/?#");
    if (hl == 0 || hl >= sizeof cfg.host) {
        fprintf(stderr, "sl-load: bad host in %s\n", url);
        return false;
    }
    memcpy(cfg.host, p, hl);
    cfg.host[hl] = 0;
    p += hl;
    cfg.port = 80;
    if (*p == ':') {
        char *e;
        long port = strtol(p + 1, &e, 10);
        if (e == p + 1 || port < 1 || port > 65535) {
            fprintf(stderr, "sl-load: bad port in %s\n", url);
            return false;
        }
        cfg.port = (int)port;
        p = e;
    }
    size_t tl = strcspn(p, "#");
    if (tl + 2 >= sizeof cfg.target) {
        fprintf(stderr, "sl-load: URL too long\n");
        return false;
    }
    if (*p == '?') { /* "http://h:p?x" -> "/?x" */
        cfg.target[0] = '/';
        memcpy(cfg.target + 1, p, tl);
        cfg.target[tl + 1] = 0;
    } else if (*p == '/') {
        memcpy(cfg.target, p, tl);
        cfg.target[tl] = 0;
    } else {
        strcpy(cfg.target, "/");
    }
    for (const char *q = cfg.target; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f) {
            fprintf(stderr, "sl-load: URL path has spaces or control characters\n");
            return false;
        }
    const char *ip = strcmp(cfg.host, "localhost") == 0 ? "127.0.0.1" : cfg.host;
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)cfg.port);
    if (inet_pton(AF_INET, ip, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "sl-load: host must be an IPv4 address or localhost: %s\n", cfg.host);
        return false;
    }
    return true;
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
#define NEED_ARG()                                                         \
    do {                                                                   \
        if (!v) {                                                          \
            fprintf(stderr, "sl-load: %s needs a value\n", a);             \
            exit(2);                                                       \
        }                                                                  \
        i++;                                                               \
    } while (0)
        if (!strcmp(a, "--url")) {
            NEED_ARG();
            cfg.url = v;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--connections")) {
            NEED_ARG();
            ok = parse_long(v, &cfg.conns) && cfg.conns >= 1 && cfg.conns <= 1000000;
        } else if (!strcmp(a, "--expect-events")) {
            NEED_ARG();
            ok = parse_long(v, &cfg.expect);
        } else if (!strcmp(a, "--interval")) {
            NEED_ARG();
            ok = parse_double(v, &cfg.interval);
            cfg.interval_given = true;
        } else if (!strcmp(a, "--ramp")) {
            NEED_ARG();
            ok = parse_double(v, &cfg.ramp);
        } else if (!strcmp(a, "--timeout")) {
            NEED_ARG();
            ok = parse_double(v, &cfg.timeout) && cfg.timeout > 0;
        } else if (!strcmp(a, "--bytes")) {
            cfg.bytes_mode = true;
        } else if (!strcmp(a, "--times")) {
            NEED_ARG();
            cfg.times = v;
        } else if (!strcmp(a, "--json")) {
            cfg.json = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            cfg.quiet = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "sl-load: unknown option %s\n", a);
            usage(stderr);
            exit(2);
        }
#undef NEED_ARG
        if (!ok) {
            fprintf(stderr, "sl-load: bad value for %s: %s\n", a, v);
            exit(2);
        }
    }
    if (!cfg.url) {
        fprintf(stderr, "sl-load: --url is required\n");
        usage(stderr);
        exit(2);
    }
    if (!parse_url(cfg.url))
        exit(2);
    /* a throughput run has no use for per-read stamps */
    cfg.stamps = !cfg.bytes_mode;
}

/* Writes --times: where each client's delay went (connecting, the head,
   the first event), to tell a late start from a late server. t0: the
   first client's start. */
static int write_times(const char *path, int64_t t0) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs("start_ms,head_ms,first_ms,last_ms,end_ms,events\n", f);
    for (long i = 0; i < cfg.conns; i++) {
        const conn *c = &conns[i];
        if (!c->t_start)
            continue;
        int64_t ts[] = {c->t_head, c->t_first, c->t_last, c->t_end};
        fprintf(f, "%.3f", (double)(c->t_start - t0) / 1e6);
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
            if (ts[k])
                fprintf(f, ",%.3f", (double)(ts[k] - c->t_start) / 1e6);
            else
                fputs(",", f);
        }
        fprintf(f, ",%llu\n", (unsigned long long)c->events);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv) {
    parse_args(argc, argv);
    clocks_init();
    signal(SIGPIPE, SIG_IGN);

    /* Raise the open-file limit to the hard limit (20000 on this machine). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("sl-load: setrlimit");
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)cfg.conns + 16 > rl.rlim_cur)
        fprintf(stderr, "sl-load: warning: -c %ld exceeds the open-file limit %llu; "
                        "the excess will fail\n",
                cfg.conns, (unsigned long long)rl.rlim_cur);

    int rl_len = snprintf(request, sizeof request,
                          "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: sl-load\r\n"
                          "Accept: */*\r\nConnection: close\r\n\r\n",
                          cfg.target, cfg.host, cfg.port);
    if (rl_len < 0 || (size_t)rl_len >= sizeof request) {
        fprintf(stderr, "sl-load: request too long\n");
        return 2;
    }
    request_len = (size_t)rl_len;

    conns = calloc((size_t)cfg.conns, sizeof *conns);
    if (!conns) {
        fprintf(stderr, "sl-load: out of memory\n");
        return 2;
    }
    for (long i = 0; i < cfg.conns; i++)
        conns[i].fd = -1;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("sl-load: epoll_create1");
        return 2;
    }

    const int64_t t0 = now_ns();
    const int64_t deadline = t0 + (int64_t)(cfg.timeout * 1e9);
    const int64_t ramp_ns = (int64_t)(cfg.ramp * 1e9);
    long next_start = 0;
    struct epoll_event evs[MAX_EVENTS];
    bool timed_out = false;

    while (n_done < cfg.conns) {
        int64_t t = now_ns();
        if (t >= deadline) {
            timed_out = true;
            break;
        }
        /* start the connections that are due */
        int started = 0;
        while (next_start < cfg.conns && started < STARTS_PER_TURN) {
            int64_t due = cfg.conns > 1 && ramp_ns > 0
                              ? t0 + (int64_t)((double)ramp_ns * (double)next_start /
                                               (double)(cfg.conns - 1))
                              : t0;
            if (due > t)
                break;
            conn_start(&conns[next_start++], now_ns()); /* its own start: connects take time */
            started++;
        }
        /* wait: until the next start, the deadline, or I/O */
        int64_t wake = deadline;
        if (next_start < cfg.conns) {
            int64_t due = cfg.conns > 1 && ramp_ns > 0
                              ? t0 + (int64_t)((double)ramp_ns * (double)next_start /
                                               (double)(cfg.conns - 1))
                              : t0;
            if (due < wake)
                wake = due;
        }
        int timeout_ms;
        if (wake <= t)
            timeout_ms = 0;
        else {
            int64_t ms = (wake - t + 999999) / 1000000;
            timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        if (n_active == 0 && next_start >= cfg.conns)
            break; /* all done */
        int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("sl-load: epoll_wait");
            return 2;
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->state == ST_DONE) {
                if (c->fd >= 0)
                    conn_drain(c);
                continue;
            }
            uint32_t e = evs[i].events;
            if (c->state == ST_CONNECTING || c->state == ST_SENDING) {
                if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    conn_writable(c, now_ns());
            } else if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                conn_readable(c);
            }
        }
    }
    const int64_t t_stop = now_ns();
    if (timed_out)
        for (long i = 0; i < cfg.conns; i++)
            if (conns[i].state != ST_DONE)
                conn_finish(&conns[i], t_stop, FR_TIMEOUT, 0);
    drain_all(2000);

    /* ------------------------------------------------------------ report */
    long n = cfg.conns, ok = 0, status200 = 0, clean = 0, with_error = 0;
    uint64_t events = 0, pings = 0, bytes = 0;
    int64_t first_start = INT64_MAX, last_end = 0;
    double *late = malloc((size_t)n * sizeof *late);
    double *first = malloc((size_t)n * sizeof *first);
    double *whole = malloc((size_t)n * sizeof *whole); /* start to clean end */
    size_t n_late = 0, n_first = 0, n_whole = 0;
    if (!late || !first || !whole) {
        fprintf(stderr, "sl-load: out of memory\n");
        return 2;
    }
    for (long i = 0; i < n; i++) {
        conn *c = &conns[i];
        ok += conn_ok(c);
        status200 += c->status == 200;
        clean += c->clean;
        with_error += c->saw_error;
        events += c->events;
        pings += c->pings;
        bytes += c->body_bytes;
        if (c->t_start && c->t_start < first_start)
            first_start = c->t_start;
        if (c->t_end > last_end)
            last_end = c->t_end;
        if (c->clean && c->t_start)
            whole[n_whole++] = (double)(c->t_end - c->t_start) / 1e6;
        if (c->events > 0) {
            first[n_first++] = (double)(c->t_first - c->t_start) / 1e6;
            uint64_t k = cfg.expect >= 0 ? (uint64_t)cfg.expect : c->events;
            if (c->events == k) {
                double sched = (double)c->t_start + (double)(k - 1) * cfg.interval * 1e9;
                late[n_late++] = ((double)c->t_last - sched) / 1e6;
            }
        }
    }
    qsort(late, n_late, sizeof *late, cmp_double);
    qsort(first, n_first, sizeof *first, cmp_double);
    qsort(whole, n_whole, sizeof *whole, cmp_double);
    double elapsed = first_start < last_end ? (double)(last_end - first_start) / 1e9 : 0;
    double eps = elapsed > 0 ? (double)events / elapsed : 0;
    double mbps = elapsed > 0 ? (double)bytes / 1e6 / elapsed : 0;
    double l50 = pct(late, n_late, 50), l99 = pct(late, n_late, 99),
           lmax = n_late ? late[n_late - 1] : NAN;
    double f50 = pct(first, n_first, 50), f99 = pct(first, n_first, 99);
    double w50 = pct(whole, n_whole, 50), w99 = pct(whole, n_whole, 99);
    if (n_lag)
        qsort(lag_ms, n_lag, sizeof *lag_ms, cmp_double);
    double g50 = pct(lag_ms, n_lag, 50), g99 = pct(lag_ms, n_lag, 99),
           gmax = n_lag ? lag_ms[n_lag - 1] : NAN;

    /* failure examples */
    int printed = 0;
    long failed = n - ok;
    for (long i = 0; i < n && printed < MAX_FAIL_PRINT; i++) {
        conn *c = &conns[i];
        if (conn_ok(c))
            continue;
        char why[160];
        if (c->reason != FR_NONE)
            snprintf(why, sizeof why, "%s%s%s", reason_str(c->reason), c->err ? ": " : "",
                     c->err ? strerror(c->err) : "");
        else if (c->status != 200)
            snprintf(why, sizeof why, "status %d", c->status);
        else if (c->saw_error)
            snprintf(why, sizeof why, "event: error in body");
        else
            snprintf(why, sizeof why, "expected %ld events", cfg.expect);
        fprintf(stderr,
                "sl-load: client %ld failed: status %d, events %llu, clean end %s, "
                "event: error %s, body bytes %llu, after %.3f s; %s\n",
                i, c->status, (unsigned long long)c->events, c->clean ? "yes" : "no",
                c->saw_error ? "yes" : "no", (unsigned long long)c->body_bytes,
                c->t_start ? (double)(c->t_end - c->t_start) / 1e9 : 0.0, why);
        printed++;
    }
    if (failed > printed)
        fprintf(stderr, "sl-load: ... and %ld more failed clients\n", failed - printed);

    if (!cfg.quiet) {
        FILE *f = cfg.json ? stderr : stdout;
        fprintf(f, "sl-load %s\n", cfg.url);
        fprintf(f, "  clients      %ld  (ok %ld, failed %ld; status 200: %ld, clean end: %ld, "
                   "event: error: %ld)%s\n",
                n, ok, failed, status200, clean, with_error, timed_out ? "  [TIMED OUT]" : "");
        fprintf(f, "  events       %llu", (unsigned long long)events);
        if (pings)
            fprintf(f, "  (+ %llu comment-only blocks)", (unsigned long long)pings);
        fprintf(f, "\n  elapsed      %.3f s  (first request start to last end)\n", elapsed);
        fprintf(f, "  events/s     %.0f\n", eps);
        if (cfg.bytes_mode)
            fprintf(f, "  body         %llu bytes, %.2f MB/s\n", (unsigned long long)bytes, mbps);
        if (n_whole)
            fprintf(f, "  response     p50 %.2f ms, p99 %.2f ms (start to clean end; over %zu clients)\n",
                    w50, w99, n_whole);
        if (n_first)
            fprintf(f, "  first event  p50 %.2f ms, p99 %.2f ms (over %zu clients)\n", f50, f99,
                    n_first);
        if (n_late && cfg.interval_given)
            fprintf(f, "  lateness     p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                       "(last event vs start + (K-1)*%gs; over %zu clients)\n",
                    l50, l99, lmax, cfg.interval, n_late);
        if (n_lag)
            fprintf(f, "  read lag     p50 %.2f ms, p99 %.2f ms, max %.2f ms (data waiting in "
                       "the socket for this client; times above are arrival times)\n",
                    g50, g99, gmax);
    }
    if (cfg.json) {
        printf("{\"clients\":%ld,\"ok\":%ld,\"failed\":%ld,\"events\":%llu,", n, ok, failed,
               (unsigned long long)events);
        json_spread("lateness_ms", l50, l99, true, lmax, n_late);
        json_spread("first_event_ms", f50, f99, false, 0, n_first);
        json_spread("read_lag_ms", g50, g99, true, gmax, n_lag);
        json_spread("response_ms", w50, w99, false, 0, n_whole);
        printf("\"elapsed_s\":%.6f,\"events_per_s\":%.1f,", elapsed, eps);
        printf("\"bytes\":%llu,\"mb_per_s\":%.3f,\"status_200\":%ld,\"clean\":%ld,"
               "\"event_error\":%ld,\"pings\":%llu,\"timed_out\":%s}\n",
               (unsigned long long)bytes, mbps, status200, clean, with_error,
               (unsigned long long)pings, timed_out ? "true" : "false");
    }
    fflush(stdout);
    if (cfg.times) {
        int r = write_times(cfg.times, first_start);
        if (r < 0) {
            fprintf(stderr, "sl-load: cannot write %s: %s\n", cfg.times, strerror(-r));
            failed++;
        }
    }
    free(lag_ms);
    free(late);
    free(first);
    free(whole);
    free(conns);
    close(epfd);
    return failed == 0 ? 0 : 1;
}
