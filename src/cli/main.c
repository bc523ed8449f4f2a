/*
 * main.c: the `sluice` command.
 *
 *   sluice serve APP.c|APP.so [options]   serve the app's web endpoints
 *   sluice run APP FUNC [ARGS...]         call one function, print what it streams
 *   sluice map APP FUNC --range A:B       map it over a range, print each result
 *   sluice status [--host H] [--port N] [--json]   a running server's state
 *
 * `serve` starts the zygote, a separate executable beside this one
 * (`sluice-zygote APP.so`, src/container/main.c), so the app's code never
 * loads into the server process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: sluice serve APP.c|APP.so [options]\n"
            "       sluice run APP.c FUNC [ARGS...]\n"
            "       sluice map APP.c FUNC --range START:STOP [--unordered]\n"
            "       sluice status [--host H] [--port N] [--json]\n"
            "\n"
            "Compiles APP.c (or takes a built APP.so), serves each SL_WEB_ENDPOINT at\n"
            "http://HOST:PORT/<name>, and prints the URLs.\n"
            "\n"
            "options:\n"
            "  --host H            address to listen on (default 127.0.0.1)\n"
            "  --port N            port (default 8000; 0 picks a free one)\n"
            "  --ping-interval S   seconds of silence before an event stream gets\n"
            "                      a \": ping\" comment (default 15)\n"
            "  --write-timeout S   seconds a client may leave output unread before\n"
            "                      it is dropped and its call cancelled (default 30)\n"
            "  --cancel-grace S    seconds a cancelled call may keep running before\n"
            "                      its container is killed (default 5)\n"
            "  --memory-reserve M  MiB of heap the server keeps faulted in ahead of\n"
            "                      a burst of connections, about 11 KiB each\n"
            "                      (default 32; 0: none)\n"
            "  --quiet             no log line per cancelled or failed call\n"
            "\n"
            "sluice status prints the functions and containers of a running server\n"
            "(default 127.0.0.1:8000); --json prints its status document instead.\n");
}

/* About 3,000 streams arriving at once (docs/limits.md). */
#define DEFAULT_RESERVE_MIB ((size_t)32)

static int parse_seconds(const char *opt, const char *v, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : -1;
    if (!v || *end || !(d > 0) || d > 1e6) {
        fprintf(stderr, "sluice: %s wants a number of seconds > 0\n", opt);
        return -1;
    }
    *out = d;
    return 0;
}

/* An integer option's value in lo..hi; `unit` ends its error message. */
static int parse_range(const char *opt, const char *v, long lo, long hi, const char *unit, long *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "sluice: %s wants %ld..%ld%s\n", opt, lo, hi, unit);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_serve(int argc, char **argv, sl_server_config *cfg, const char **app)
{
    *cfg = (sl_server_config){.host = "127.0.0.1", .port = 8000, .ping_interval = 15.0, .write_timeout = 30.0,
                              .cancel_grace = 5.0, .reserve_bytes = DEFAULT_RESERVE_MIB << 20};
    *app = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (strcmp(a, "--host") == 0 && v) {
            cfg->host = v;
            i++;
        } else if (strcmp(a, "--port") == 0 && v) {
            long port = 0;
            r = parse_range(a, v, 0, 65535, "", &port), i++;
            cfg->port = (int)port;
        } else if (strcmp(a, "--ping-interval") == 0) {
            r = parse_seconds(a, v, &cfg->ping_interval), i++;
        } else if (strcmp(a, "--write-timeout") == 0) {
            r = parse_seconds(a, v, &cfg->write_timeout), i++;
        } else if (strcmp(a, "--cancel-grace") == 0) {
            r = parse_seconds(a, v, &cfg->cancel_grace), i++;
        } else if (strcmp(a, "--memory-reserve") == 0 && v) {
            long mib = 0;
            r = parse_range(a, v, 0, 1024, " (MiB)", &mib), i++;
            cfg->reserve_bytes = (size_t)mib << 20;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg->quiet = true;
        } else if (a[0] != '-' && !*app) {
            *app = a;
        } else {
            fprintf(stderr, "sluice: unknown option %s\n", a);
            return -1;
        }
        if (r)
            return -1;
    }
    if (!*app) {
        fprintf(stderr, "sluice: serve wants an app (APP.c or APP.so)\n");
        return -1;
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Builds of the app made by reloads, removed when serve ends. */
static const char *g_source;
static char *g_builds[64];
static int g_nbuilds;

static int rebuild(char *so, size_t n)
{
    if (sl_compile_app(g_source, so, n))
        return -1;
    if (g_nbuilds == 64) { /* keep the newest; the oldest build's zygote is long gone */
        sl_compile_cleanup(g_builds[0]);
        free(g_builds[0]);
        memmove(g_builds, g_builds + 1, 63 * sizeof *g_builds);
        g_nbuilds--;
    }
    g_builds[g_nbuilds] = strdup(so);
    if (g_builds[g_nbuilds])
        g_nbuilds++;
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    sl_server_config cfg;
    const char *app;
    if (parse_serve(argc, argv, &cfg, &app)) {
        usage(stderr);
        return 2;
    }
    char so[4096];
    bool compiled = !ends_with(app, ".so");
    if (compiled) {
        if (sl_compile_app(app, so, sizeof so))
            return 1;
        g_source = app;
        cfg.watch = app; /* rebuild and reload when it changes */
        cfg.rebuild = rebuild;
    } else {
        snprintf(so, sizeof so, "%s", app);
    }
    printf("sluice: serving %s\n", app);
    int rc = sl_server_run(&cfg, so);
    if (compiled)
        sl_compile_cleanup(so);
    for (int i = 0; i < g_nbuilds; i++) {
        sl_compile_cleanup(g_builds[i]);
        free(g_builds[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
        return cmd_serve(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return sl_run_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "map") == 0)
        return sl_map_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return sl_status_main(argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
