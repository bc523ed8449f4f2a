/* Functions for the fault suite: work that takes long enough to be
 * interrupted from outside (kill -9) while it streams. */
#include <sluice.h>

/* Ten events, 0.3 s apart. */
static int ticker(sl_call *c)
{
    for (int i = 0; i < 10; i++) {
        if (sl_yieldf(c, "data: tick %d\n\n", i) < 0)
            return 0;
        sl_sleep(c, 0.3);
    }
    return 0;
}
SL_WEB_ENDPOINT(ticker, .content_type = "text/event-stream");

/* An input that takes 2 ms. */
static int steady(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    sl_sleep(c, 0.002);
    return sl_returnf(c, "ok %lld\n", i);
}
SL_FUNCTION(steady);

/* The same, run again (up to 3 times) when its container dies under it. */
static int steady_retried(sl_call *c)
{
    return steady(c);
}
SL_FUNCTION(steady_retried, .retries = 3);

/* A map of ?fn= (steady) over ?n= inputs, ?window= at a time, with every
 * failure an item. */
static int steady_map(sl_call *c)
{
    long long n, window;
    sl_query_int(c, "n", 10000, &n);
    sl_query_int(c, "window", 8, &window);
    const char *fn = sl_query_param(c, "fn");
    sl_map_opts o = {.return_exceptions = true, .window = (int)window};
    sl_handle *m = sl_map(c, fn ? fn : "steady", sl_range(0, n), &o);
    const void *d;
    size_t len;
    int r;
    while ((r = sl_next(m, &d, &len, SL_FOREVER)) != 0) {
        if (r == 1)
            r = sl_yield(c, d, len);
        else if (r == SL_EFAILED)
            r = sl_yieldf(c, "error: %s\n", sl_handle_error(m));
        if (r < 0)
            break;
    }
    sl_close(m);
    return 0;
}
SL_WEB_ENDPOINT(steady_map, .content_type = "text/plain");

/* Writes garbage to every socket it has (the server's channel is one):
 * a container that breaks the protocol. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int vandal(sl_call *c)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char link[64], target[64];
    while (d && (e = readdir(d))) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0 && (target[n] = '\0', strncmp(target, "socket:", 7) == 0)) {
            static const char junk[] = "\xff\xff\xff\x7fGARBAGE-GARBAGE-GARBAGE";
            if (write(atoi(e->d_name), junk, sizeof junk - 1) < 0)
                perror("vandal");
        }
    }
    if (d)
        closedir(d);
    sl_sleep(c, 5);
    return sl_returnf(c, "still here\n");
}
SL_WEB_ENDPOINT(vandal);

static int hello(sl_call *c)
{
    return sl_returnf(c, "hello\n");
}
SL_WEB_ENDPOINT(hello);
