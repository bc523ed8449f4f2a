/* Inputs run as fibers on a few carrier threads (src/container/sched.c).
 * One container (max_containers = 1) holds every input, so they share
 * carriers, and these endpoints show what a user sees:
 *
 *   /mix?mode=stream   8 events, 0.25 s apart, each saying how late it is
 *                      against its schedule (ms) and which thread ran it
 *   /mix?mode=spin     computes for 1.5 s without waiting in sluice
 *   /mix?mode=block    blocks in usleep() for 1.5 s (a wait sluice cannot see)
 *   /mix?mode=threads  the container's thread count (from /proc)
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

static int stream(sl_call *c)
{
    double start = now_s();
    for (int i = 0; i < 8; i++) {
        double late_ms = (now_s() - (start + 0.25 * i)) * 1e3;
        if (sl_yieldf(c, "data: %d late %.0f tid %ld\n\n", i, late_ms, (long)syscall(SYS_gettid)) < 0)
            return 0;
        if (i < 7 && sl_sleep(c, 0.25) < 0)
            return 0;
    }
    return 0;
}

static int spin(sl_call *c)
{
    volatile unsigned long x = 0;
    double end = now_s() + 1.5;
    while (now_s() < end)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i;
    return sl_returnf(c, "spun %lu\n", (unsigned long)(x & 1));
}

static int threads(sl_call *c)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return sl_fail(c, "cannot open /proc/self/status");
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return sl_returnf(c, "%d\n", n);
}

/* Recurses through about 1 MiB of frames: twice an input's stack. */
static int deeper(int n)
{
    volatile char frame[16384];
    frame[0] = (char)n;
    if (n == 0)
        return frame[0];
    return deeper(n - 1) + frame[0];
}

static int mix(sl_call *c)
{
    const char *mode = sl_query_param(c, "mode");
    if (!mode || strcmp(mode, "stream") == 0)
        return stream(c);
    if (strcmp(mode, "spin") == 0)
        return spin(c);
    if (strcmp(mode, "block") == 0) {
        usleep(1500000);
        return sl_returnf(c, "blocked\n");
    }
    if (strcmp(mode, "threads") == 0)
        return threads(c);
    if (strcmp(mode, "overflow") == 0)
        return sl_returnf(c, "survived %d\n", deeper(64));
    return sl_fail(c, "unknown mode %s", mode);
}
SL_WEB_ENDPOINT(mix, .content_type = "text/event-stream", .max_containers = 1, .max_inputs = 1000);
