/* Workloads for bench/calls.sh: cold starts, warm remote round trips, and a
 * remote generator streamed through an endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int noop(sl_call *c)
{
    return sl_return(c, "", 0);
}

/* Forty functions that nothing else calls: each one's first call is cold. */
#define NOOP(i)                                                                                                        \
    static int noop_##i(sl_call *c) { return noop(c); }                                                                \
    SL_FUNCTION(noop_##i)
NOOP(0); NOOP(1); NOOP(2); NOOP(3); NOOP(4); NOOP(5); NOOP(6); NOOP(7); NOOP(8); NOOP(9);
NOOP(10); NOOP(11); NOOP(12); NOOP(13); NOOP(14); NOOP(15); NOOP(16); NOOP(17); NOOP(18); NOOP(19);
NOOP(20); NOOP(21); NOOP(22); NOOP(23); NOOP(24); NOOP(25); NOOP(26); NOOP(27); NOOP(28); NOOP(29);
NOOP(30); NOOP(31); NOOP(32); NOOP(33); NOOP(34); NOOP(35); NOOP(36); NOOP(37); NOOP(38); NOOP(39);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times sl_remote to functions noop_<from>..noop_<to-1>, each its first call
 * (a container forked from the zygote), or `n` calls to one warm function.
 * Reports p50 and p99 in microseconds. */
static int time_calls(sl_call *c, int from, int to, int warm_n)
{
    int n = warm_n ? warm_n : to - from;
    double *t = malloc(sizeof *t * (size_t)(n > 0 ? n : 1));
    if (!t || n <= 0)
        return sl_fail(c, "bad range");
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "noop_%d", warm_n ? from : from + i);
        double t0 = now_us();
        int r = sl_remote(c, name, NULL, 0, NULL, NULL);
        t[i] = now_us() - t0;
        if (r < 0) {
            free(t);
            return r;
        }
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    int r = sl_returnf(c, "{\"n\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f, \"min_us\": %.1f}\n", n, t[n / 2],
                       t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], t[0]);
    free(t);
    return r;
}

/* GET /cold?from=A&to=B */
static int cold(sl_call *c)
{
    long long from, to;
    if (sl_query_int(c, "from", 0, &from) || sl_query_int(c, "to", 20, &to) || from < 0 || to > 39 || from >= to)
        return sl_fail(c, "want 0 <= from < to <= 39");
    return time_calls(c, (int)from, (int)to, 0);
}
SL_WEB_ENDPOINT(cold);

/* GET /warm?n=N: N calls to noop_39 after one to warm it. */
static int warm(sl_call *c)
{
    long long n;
    if (sl_query_int(c, "n", 1000, &n) || n < 1 || n > 1000000)
        return sl_fail(c, "want 1 <= n <= 1000000");
    sl_remote(c, "noop_39", NULL, 0, NULL, NULL);
    return time_calls(c, 39, 40, (int)n);
}
SL_WEB_ENDPOINT(warm);

static int gen(sl_call *c)
{
    size_t len;
    const char *arg = sl_arg(c, &len);
    long long n = len ? atoll(arg) : 0;
    for (long long i = 0; i < n; i++)
        if (sl_yieldf(c, "data: %lld\n\n", i) < 0)
            return 0;
    return 0;
}
SL_FUNCTION(gen);

/* GET /firehose_remote?n=N: `gen` in its own container, streamed through. */
static int firehose_remote(sl_call *c)
{
    const char *n = sl_query_param(c, "n");
    return sl_respond(c, sl_spawn(c, "gen", n ? n : "1000", n ? strlen(n) : 4));
}
SL_WEB_ENDPOINT(firehose_remote, .content_type = "text/event-stream");

/* GET /firehose?n=N (and /hello): the example's endpoints themselves, so
 * the remote stream is compared with exactly what bench/run.sh measures. */
#include "../../examples/firehose.c"
