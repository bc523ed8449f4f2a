/*
 * server.c: the server's event loop. It starts the zygote, waits for the
 * app's function table, listens, and runs until SIGINT or SIGTERM.
 *
 * Output is flushed once per loop iteration (a uv_prepare_t runs just
 * before the loop waits for I/O): every frame that arrived in this
 * iteration is in its stream's buffer by then, so one h2o_send or one
 * write() carries them all.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "server/server.h"

#define SWEEP_INTERVAL_MS 250

uv_loop_t *sl_loop;
sl_server_config sl_cfg;

static h2o_globalconf_t g_conf;
static h2o_context_t g_ctx;
static h2o_accept_ctx_t g_accept;
static uv_tcp_t g_listener;
static uv_prepare_t g_flush;
static uv_timer_t g_sweep;
static uv_signal_t g_sigint, g_sigterm;
static struct stat g_watched; /* the app source as last seen */

void sl_log(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = (int)strftime(line, sizeof line, "%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ld sluice: ", ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* Once per loop iteration, before it waits: what this iteration queued
 * goes out. Containers first: in a burst the clients' writes of one
 * iteration can take tens of ms, and the inputs that came in with them
 * would wait behind them for their containers to start work. Then the
 * clients' writes are finished (conn.c): h2o asks for more output, and
 * takes up requests that came while it answered. Then the containers once
 * more, for what all that freed or queued. */
static void on_flush(uv_prepare_t *p)
{
    (void)p;
    sl_pool_flush();
    sl_gateway_flush();
    sl_conn_handover();
    sl_pool_flush();
}

static bool app_changed(void);
static void reload_app(void);

static void on_sweep(uv_timer_t *t)
{
    static unsigned ticks;
    (void)t;
    if (sl_cfg.rebuild && ++ticks % 2 == 0 && app_changed())
        reload_app();
    sl_gateway_sweep();
    sl_pool_sweep();
    sl_api_sweep(sl_now());
}

static void on_accept(uv_stream_t *listener, int status)
{
    if (status != 0)
        return;
    h2o_socket_t *sock = sl_conn_accept(listener);
    if (sock)
        h2o_accept(&g_accept, sock);
}

/* Whether the app's source changed since last seen. A plain stat() from
 * the sweep timer: uv_fs_poll would run it on libuv's thread pool, which
 * measurably delayed the first events of a burst of new streams. */
static bool app_changed(void)
{
    struct stat st;
    if (!sl_cfg.watch || stat(sl_cfg.watch, &st) < 0)
        return false; /* gone for now (an editor saving): wait */
    bool changed = st.st_mtim.tv_sec != g_watched.st_mtim.tv_sec || st.st_mtim.tv_nsec != g_watched.st_mtim.tv_nsec ||
                   st.st_size != g_watched.st_size || st.st_ino != g_watched.st_ino;
    g_watched = st;
    return changed;
}

/* The app's source changed: build it and start a zygote for the new
 * build; streams in flight finish on the old containers. */
static void reload_app(void)
{
    char so[4096];
    sl_log("%s changed: rebuilding", sl_cfg.watch);
    if (sl_cfg.rebuild(so, sizeof so) != 0) {
        sl_log("the build failed (see above): still serving the previous build");
        return;
    }
    int r = sl_zygote_reload(so);
    if (r)
        sl_log("cannot start the new build: %s", uv_strerror(r));
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (!sl_cfg.quiet)
        sl_log("signal %d: shutting down", signum);
    sl_zygote_stop();
    uv_stop(sl_loop);
}

static int listen_on(const char *host, int port)
{
    struct sockaddr_storage addr;
    int r = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (r)
        r = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (r)
        return r;
    r = uv_tcp_init(sl_loop, &g_listener);
    if (!r)
        r = uv_tcp_bind(&g_listener, (struct sockaddr *)&addr, 0);
    if (!r)
        r = uv_listen((uv_stream_t *)&g_listener, 4096, on_accept);
    return r;
}

/* One file descriptor per connection: take every one the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Runs the loop until the zygote has sent the function table (or died). */
static int wait_for_functions(void)
{
    while (!sl_zygote_table && !sl_zygote_failed)
        uv_run(sl_loop, UV_RUN_ONCE);
    return sl_zygote_table ? 0 : -1;
}

/* The port we listen on: --port 0 lets the kernel choose. */
static int bound_port(void)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getsockname(&g_listener, (struct sockaddr *)&ss, &len) != 0)
        return sl_cfg.port;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void print_endpoints(void)
{
    const char *host = sl_cfg.host;
    sl_cfg.port = bound_port();
    bool v6 = strchr(host, ':') != NULL;
    for (uint32_t i = 0; i < sl_nfunctions; i++) {
        const sl_fninfo *f = &sl_functions[i].info;
        if (f->is_web)
            printf("  %-4s http://%s%s%s:%d/%s  (%s)\n", f->method, v6 ? "[" : "", host, v6 ? "]" : "", sl_cfg.port,
                   f->name, f->content_type);
        else if (strncmp(f->name, "__", 2) != 0) /* sluice's own helpers go unlisted */
            printf("  function %s\n", f->name);
    }
    if (sl_gpus.count)
        printf("  GPUs: %d (%s)\n", sl_gpus.count, sl_gpus.source);
    printf("sluice: ready on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", sl_cfg.port);
    fflush(stdout);
}

static void configure_h2o(void)
{
    h2o_config_init(&g_conf);
    g_conf.server_name = h2o_iovec_init(H2O_STRLIT("sluice"));
    g_conf.max_request_entity_size = 16 * 1024 * 1024;
    sl_gateway_init(&g_conf);
    h2o_context_init(&g_ctx, sl_loop, &g_conf);
    g_accept.ctx = &g_ctx;
    g_accept.hosts = g_conf.hosts;
}

int sl_server_run(const sl_server_config *cfg, const char *app_so)
{
    sl_cfg = *cfg;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    char err[160];
    if (sl_gpu_detect(&sl_gpus, err, sizeof err)) {
        fprintf(stderr, "sluice: GPU inventory: %s\n", err);
        return 1;
    }
    sl_loop = uv_default_loop();

    int r = sl_zygote_start(app_so);
    if (r) {
        fprintf(stderr, "sluice: cannot start the zygote: %s\n", uv_strerror(r));
        return 1;
    }
    if (wait_for_functions()) {
        fprintf(stderr, "sluice: the app could not be loaded\n");
        return 1;
    }
    if (sl_pool_init(sl_zygote_table)) {
        sl_zygote_stop();
        return 1;
    }
    r = sl_reserve_start(sl_cfg.reserve_bytes);
    if (r)
        sl_log("no memory reserve (--memory-reserve): %s", strerror(-r));
    configure_h2o();
    r = sl_conn_init(sl_loop);
    if (r) {
        fprintf(stderr, "sluice: cannot set up client connections: %s\n", uv_strerror(r));
        sl_zygote_stop();
        return 1;
    }
    r = listen_on(sl_cfg.host, sl_cfg.port);
    if (r) {
        fprintf(stderr, "sluice: cannot listen on %s:%d: %s\n", sl_cfg.host, sl_cfg.port, uv_strerror(r));
        sl_zygote_stop();
        return 1;
    }
    uv_prepare_init(sl_loop, &g_flush);
    uv_prepare_start(&g_flush, on_flush);
    uv_timer_init(sl_loop, &g_sweep);
    uv_timer_start(&g_sweep, on_sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
    uv_signal_init(sl_loop, &g_sigint);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    uv_signal_init(sl_loop, &g_sigterm);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    app_changed(); /* the build being served */
    sl_pool_sweep(); /* starts min_containers */
    print_endpoints();

    uv_run(sl_loop, UV_RUN_DEFAULT);
    return 0;
}
