/* Quick inputs run on the container's reader thread (runtime.c, run_inline);
 * these endpoints show it, and what happens when such an input blocks. One
 * container (max_containers = 1), so every request meets the same reader.
 *
 *   /flip             returns "main=1" when it ran on the container's main
 *                     thread (the first reader), "main=0" on another
 *   /flip?block=raw   the same after usleep(3 s): a wait sluice cannot see
 *   /flip?block=sl    sl_sleep(30 s), which a client disconnect cancels
 *   /flop             the same in a container of its own
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sluice.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int flip_flop(sl_call *c, const char *name)
{
    int on_main = (pid_t)syscall(SYS_gettid) == getpid();
    const char *block = sl_query_param(c, "block");
    if (block && strcmp(block, "raw") == 0) {
        printf("%s: blocking, main=%d\n", name, on_main);
        usleep(3000000);
    } else if (block && strcmp(block, "sl") == 0) {
        printf("%s: sleeping, main=%d\n", name, on_main);
        double t0 = now_s();
        int r = sl_sleep(c, 30);
        printf("%s: sleep ended after %.1f s: %s\n", name, now_s() - t0, r == SL_ECANCELED ? "cancelled" : "slept");
        return 0;
    }
    return sl_returnf(c, "main=%d\n", on_main);
}
static int flip(sl_call *c)
{
    return flip_flop(c, "flip");
}
SL_WEB_ENDPOINT(flip, .max_containers = 1);

static int flop(sl_call *c)
{
    return flip_flop(c, "flop");
}
SL_WEB_ENDPOINT(flop, .max_containers = 1);
