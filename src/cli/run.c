/*
 * run.c: `sluice run` and `sluice map`, one-off calls from the command line.
 *
 *   sluice run APP FUNC [ARGS...]                   outputs as they stream, then
 *                                                   the return value (typed
 *                                                   ones as JSON, a line each)
 *   sluice map APP FUNC --range A:B [--unordered]   FUNC over A..B-1, each result
 *                                                   as it arrives
 *   sluice map APP FUNC --inputs FILE|-             over one JSON value a line,
 *                                                   CHUNK lines per call
 *
 * Both start `sluice serve APP --port 0` as a child, call the function
 * through the call API (NDJSON over HTTP, with libcurl), print what streams
 * back on stdout, and stop the server. The app's own prints go to stderr,
 * so stdout carries results only. `map` draws a progress bar on stderr when
 * it is a terminal.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/buf.h"

typedef struct run_state {
    const char *fn;
    sl_buf line;        /* a partial NDJSON line */
    long done, total;   /* results so far; total for a map (else 0) */
    bool failed;
    bool progress;      /* draw a progress bar on stderr */
    double t0, last_draw;
} run_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the server child ---- */

/* How long the server gets to stop on SIGTERM before SIGKILL, and how long
 * its output then gets to reach EOF: a container that outlives the server
 * still holds the pipe, and must not hold this command with it. */
#define STOP_GRACE_S 10.0
#define DRAIN_GRACE_S 2

typedef struct server_child {
    pid_t pid;
    int out;            /* its stdout */
    char base[128];     /* http://127.0.0.1:PORT */
    pthread_t drain;
    atomic_bool quit;   /* the drain should stop now */
} server_child;

/* Copies the server's stdout (the app's prints) to our stderr. */
static void *drain_main(void *arg)
{
    server_child *sc = arg;
    char buf[4096];
    while (!atomic_load(&sc->quit)) {
        struct pollfd p = {sc->out, POLLIN, 0};
        int k = poll(&p, 1, 100); /* a wake-up each 100 ms to see quit */
        if (k == 0 || (k < 0 && errno == EINTR))
            continue;
        ssize_t n = k < 0 ? -1 : read(sc->out, buf, sizeof buf);
        if (n <= 0 || write(2, buf, (size_t)n) < 0)
            break;
    }
    return NULL;
}

static int start_server(const char *app, server_child *sc)
{
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    sc->pid = fork();
    if (sc->pid < 0)
        return -errno;
    if (sc->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        /* one caller: no memory reserve for bursts (src/server/reserve.c) */
        execl("/proc/self/exe", "sluice", "serve", app, "--port", "0", "--quiet", "--memory-reserve", "0",
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    sc->out = p[0];
    FILE *f = fdopen(dup(p[0]), "r");
    char line[512];
    int r = -EPIPE;
    while (f && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "sluice: ready on ");
        if (at) {
            snprintf(sc->base, sizeof sc->base, "%s", at + 17);
            sc->base[strcspn(sc->base, "\r\n")] = '\0';
            r = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    if (!r && pthread_create(&sc->drain, NULL, drain_main, sc) != 0)
        r = -EAGAIN;
    return r;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps the server within STOP_GRACE_S of SIGTERM, or kills it. */
static void reap_server(pid_t pid)
{
    double give_up = now_s() + STOP_GRACE_S;
    kill(pid, SIGTERM);
    for (;;) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return;
        if (now_s() > give_up) {
            fprintf(stderr, "sluice: the server did not stop within %.0f s: killing it\n", STOP_GRACE_S);
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        sleep_ms(10);
    }
}

static void stop_server(server_child *sc)
{
    reap_server(sc->pid);
    struct timespec by;
    clock_gettime(CLOCK_REALTIME, &by);
    by.tv_sec += DRAIN_GRACE_S;
    if (pthread_timedjoin_np(sc->drain, NULL, &by) != 0) {
        atomic_store(&sc->quit, true);
        pthread_join(sc->drain, NULL);
    }
    close(sc->out);
}

/* ---- output ---- */

static void draw_progress(run_state *st, bool final)
{
    double t = now_s();
    if (!st->progress || (!final && t - st->last_draw < 0.1))
        return;
    st->last_draw = t;
    double rate = st->done / (t - st->t0 > 1e-6 ? t - st->t0 : 1e-6);
    int width = 30, filled = st->total ? (int)(width * st->done / st->total) : 0;
    if (st->total)
        fprintf(stderr, "\r[%.*s%.*s] %ld/%ld  %.0f/s  ETA %.1fs ", filled, "==============================",
                width - filled, "                              ", st->done, st->total, rate,
                rate > 0 ? (st->total - st->done) / rate : 0.0);
    else /* inputs from a pipe: no total to measure against */
        fprintf(stderr, "\r%ld done  %.0f/s ", st->done, rate);
    if (final)
        fputc('\n', stderr);
}

/* An output or return value: a typed one (the line says "typed": true) as
 * one line of JSON; raw bytes as they are (text, or hex). */
static void print_value(const json_t *v, bool typed)
{
    char *text = typed ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (text)
        printf("%s\n", text);
    else if (json_is_string(v))
        fwrite(json_string_value(v), 1, json_string_length(v), stdout);
    else if (json_is_object(v) && json_is_string(json_object_get(v, "hex")))
        printf("%s", json_string_value(json_object_get(v, "hex")));
    free(text);
    fflush(stdout);
}

static void handle_line(run_state *st, const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *v;
    bool typed = json_is_true(json_object_get(o, "typed"));
    if (!o) {
        fprintf(stderr, "sluice: unreadable reply line: %.*s\n", (int)len, line);
        st->failed = true;
    } else if ((v = json_object_get(o, "output"))) {
        print_value(v, typed);
        st->done++;
        draw_progress(st, false);
    } else if ((v = json_object_get(o, "return"))) {
        print_value(v, typed);
    } else if ((v = json_object_get(o, "error"))) {
        if (st->progress)
            fputc('\n', stderr);
        fprintf(stderr, "sluice: %s failed: %s\n", st->fn, json_string_value(v));
        st->failed = true;
    }
    json_decref(o);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    run_state *st = arg;
    size_t len = size * n;
    if (sl_buf_append(&st->line, p, len))
        return 0;
    size_t start = 0;
    for (size_t i = 0; i < st->line.len; i++)
        if (st->line.data[i] == '\n') {
            handle_line(st, (const char *)st->line.data + start, i - start);
            start = i + 1;
        }
    sl_buf_consume(&st->line, start);
    return len;
}

/* ---- the call ---- */

static int call(const char *base, const char *fn, json_t *args, run_state *st)
{
    char url[512];
    snprintf(url, sizeof url, "%s/_sluice/call/%s", base, fn);
    char *body = json_dumps(args, JSON_COMPACT);
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/x-ndjson");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (!body || !curl || !hdrs) {
        free(body);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(curl);
        return -ENOMEM;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, st);
    if (!st->t0)
        st->t0 = now_s();
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (st->line.len) /* a last line without its newline: an error body */
        handle_line(st, (const char *)st->line.data, st->line.len);
    if (rc != CURLE_OK && !st->failed) {
        fprintf(stderr, "sluice: calling %s: %s\n", fn, curl_easy_strerror(rc));
        st->failed = true;
    }
    if (status != 200 && !st->failed)
        st->failed = true;
    free(body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return st->failed ? -1 : 0;
}

/* A command-line argument as a JSON value: integer, number, boolean, a
 * JSON object or array (when it starts with { or [ and parses), or else
 * the string itself. */
static json_t *arg_value(const char *a)
{
    json_t *j = a[0] == '{' || a[0] == '[' ? json_loads(a, 0, NULL) : NULL;
    if (j)
        return j;
    char *end;
    long long i = strtoll(a, &end, 10);
    if (*a && !*end)
        return json_integer(i);
    double d = strtod(a, &end);
    if (*a && !*end)
        return json_real(d);
    if (strcmp(a, "true") == 0 || strcmp(a, "false") == 0)
        return json_boolean(a[0] == 't');
    return json_string(a);
}

/* Where a call's arguments come from: one list, or (for a map over an
 * inputs file) one list per chunk of the file. */
typedef struct arg_source {
    json_t *args;       /* owned: the only call's arguments, or NULL */
    /* a map over an inputs file */
    FILE *inputs;
    const char *path, *fn;
    bool ordered;
    long lineno;
} arg_source;

static json_t *next_args(arg_source *src, bool *failed);

/* Serves APP in a child process and makes the calls src gives. */
static int run_with_server(const char *app, const char *fn, arg_source *src, run_state *st)
{
    server_child sc = {0};
    int r = start_server(app, &sc);
    if (r) {
        fprintf(stderr, "sluice: could not serve %s\n", app);
        if (sc.pid > 0)
            waitpid(sc.pid, NULL, 0);
        return 1;
    }
    bool bad_input = false;
    json_t *args;
    while (!r && (args = next_args(src, &bad_input))) {
        r = call(sc.base, fn, args, st);
        json_decref(args);
    }
    if (!r && !bad_input && st->progress && st->done)
        draw_progress(st, true);
    stop_server(&sc);
    sl_buf_free(&st->line);
    return r || bad_input ? 1 : 0;
}

int sl_run_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sluice run APP FUNC [ARGS...]\n");
        return 2;
    }
    json_t *args = json_array();
    for (int i = 2; i < argc; i++)
        json_array_append_new(args, arg_value(argv[i]));
    run_state st = {.fn = argv[1]};
    arg_source src = {.args = args};
    int rc = run_with_server(argv[0], argv[1], &src, &st);
    json_decref(src.args); /* NULL once the call took it */
    return rc;
}

/* Inputs from a file go CHUNK at a time, one map call each, so neither
 * this process, the server nor the map holds the whole file. */
#define CHUNK 50000

static bool blank(const char *line, size_t n)
{
    return strspn(line, " \t\r\n") == n;
}

/* Reads up to CHUNK JSON values, one a line, into a new array: NULL at
 * the end of the file, or (with *failed set) on a bad line. */
static json_t *read_chunk(arg_source *src, bool *failed)
{
    json_t *list = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (list && json_array_size(list) < CHUNK && (n = getline(&line, &cap, src->inputs)) >= 0) {
        src->lineno++;
        if (blank(line, (size_t)n))
            continue;
        json_error_t err;
        json_t *v = json_loadb(line, (size_t)n, JSON_DECODE_ANY, &err);
        if (!v) {
            fprintf(stderr, "sluice: %s:%ld: not JSON: %s\n", src->path, src->lineno, err.text);
            *failed = true;
            json_decref(list);
            list = NULL;
        } else if (json_array_append_new(list, v)) {
            json_decref(list);
            list = NULL;
            *failed = true;
        }
    }
    free(line);
    if (list && json_array_size(list) == 0) {
        json_decref(list);
        list = NULL;
    }
    return list;
}

/* The next call's arguments, or NULL when there are no more calls. */
static json_t *next_args(arg_source *src, bool *failed)
{
    if (!src->inputs) {
        json_t *a = src->args;
        src->args = NULL; /* one call; the caller frees it */
        return a;
    }
    json_t *list = read_chunk(src, failed);
    return list ? json_pack("[s, o, b]", src->fn, list, src->ordered) : NULL;
}

/* The number of inputs in a regular file (0 for a pipe: unknown). */
static long count_inputs(FILE *f)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long count = 0;
    while ((n = getline(&line, &cap, f)) >= 0)
        count += !blank(line, (size_t)n);
    free(line);
    rewind(f);
    return count;
}

int sl_map_main(int argc, char **argv)
{
    long long a = 0, b = -1;
    const char *inputs = NULL;
    bool ordered = true, bad = argc < 2;
    for (int i = 2; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--range") == 0 && i + 1 < argc && sscanf(argv[i + 1], "%lld:%lld", &a, &b) == 2)
            i++;
        else if (strcmp(argv[i], "--inputs") == 0 && i + 1 < argc)
            inputs = argv[++i];
        else if (strcmp(argv[i], "--unordered") == 0)
            ordered = false;
        else
            bad = true;
    }
    if (bad || (!inputs && b < a)) {
        fprintf(stderr, "usage: sluice map APP FUNC (--range START:STOP | --inputs FILE) [--unordered]\n"
                        "  FILE holds one JSON value per line (a list is an argument list); - is stdin\n");
        return 2;
    }
    arg_source src = {.fn = argv[1], .ordered = ordered, .path = inputs};
    long total = b - a;
    if (inputs) {
        src.inputs = strcmp(inputs, "-") == 0 ? stdin : fopen(inputs, "r");
        if (!src.inputs) {
            fprintf(stderr, "sluice: cannot read %s: %s\n", inputs, strerror(errno));
            return 1;
        }
        total = count_inputs(src.inputs);
    } else {
        src.args = json_pack("[s, I, I, b]", argv[1], (json_int_t)a, (json_int_t)b, ordered);
    }
    run_state st = {.fn = argv[1], .total = total, .progress = isatty(2)};
    int rc = run_with_server(argv[0], "__sluice_map", &src, &st);
    if (src.inputs && src.inputs != stdin)
        fclose(src.inputs);
    json_decref(src.args);
    return rc;
}
