/* Functions calling functions, for the integration tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice.h>

/* Yields `arg` events (default 5), 0.1 s apart. */
static int gen(sl_call *c)
{
    size_t len;
    const char *arg = sl_arg(c, &len);
    int n = len ? atoi(arg) : 5;
    for (int i = 0; i < n; i++) {
        if (sl_yieldf(c, "data: item %d\n\n", i) < 0)
            return 0;
        if (sl_sleep(c, 0.1) < 0)
            return 0;
    }
    return 0;
}
SL_FUNCTION(gen);

static int hook(sl_call *c)
{
    return sl_respond(c, sl_spawn(c, "gen", "5", 1));
}
SL_WEB_ENDPOINT(hook, .content_type = "text/event-stream");

static int square(sl_call *c)
{
    size_t len;
    const char *arg = sl_arg(c, &len);
    long v = atol(arg);
    return sl_returnf(c, "%ld", v * v);
}
SL_FUNCTION(square);

/* 1 + 4 + 9, each square computed by a remote call. */
static int remote_sum(sl_call *c)
{
    long sum = 0;
    for (int i = 1; i <= 3; i++) {
        char arg[16];
        const void *out;
        int n = snprintf(arg, sizeof arg, "%d", i);
        int r = sl_remote(c, "square", arg, (size_t)n, &out, NULL);
        if (r < 0)
            return r;
        sum += atol(out);
    }
    return sl_returnf(c, "sum=%ld\n", sum);
}
SL_WEB_ENDPOINT(remote_sum);

static int call_unknown(sl_call *c)
{
    return sl_respond(c, sl_spawn(c, "no_such_function", NULL, 0));
}
SL_WEB_ENDPOINT(call_unknown);

static int crashing(sl_call *c)
{
    (void)c;
    raise(SIGSEGV);
    return 0;
}
SL_FUNCTION(crashing);

static int call_crash(sl_call *c)
{
    return sl_respond(c, sl_spawn(c, "crashing", NULL, 0));
}
SL_WEB_ENDPOINT(call_crash);

/* 100 events 0.2 s apart; says how far it got when cancelled. */
static int slow_gen(sl_call *c)
{
    for (int i = 0; i < 100; i++) {
        if (sl_yieldf(c, "data: %d\n\n", i) < 0 || sl_sleep(c, 0.2) < 0) {
            printf("slow_gen: cancelled after %d events\n", i + 1);
            return 0;
        }
    }
    return 0;
}
SL_FUNCTION(slow_gen);

static int hook_slow(sl_call *c)
{
    return sl_respond(c, sl_spawn(c, "slow_gen", NULL, 0));
}
SL_WEB_ENDPOINT(hook_slow, .content_type = "text/event-stream");

/* sl_next with a short timeout, then the output; then sl_cancel. */
static int handle_ops(sl_call *c)
{
    sl_handle *h = sl_spawn(c, "slow_gen", NULL, 0);
    const void *d;
    size_t n;
    int first = sl_next(h, &d, &n, 0.0);    /* nothing yet: a container must start */
    int second = sl_next(h, &d, &n, 5.0);   /* the first output */
    int third = sl_next(h, &d, &n, 5.0);    /* the second */
    sl_cancel(h);
    int after = sl_next(h, &d, &n, 5.0);
    sl_close(h);
    return sl_returnf(c, "first=%s second=%d third=%d after=%s\n", first == SL_ETIMEDOUT ? "timeout" : "other",
                      second, third, after == SL_ECANCELED ? "cancelled" : "other");
}
SL_WEB_ENDPOINT(handle_ops);

/* For the call API: the sum of its integer arguments, yielding each. */
static int add(sl_call *c)
{
    long long sum = 0;
    for (int i = 0; i < sl_nargs(c); i++) {
        long long v = sl_arg_int(c, i);
        sl_yieldf(c, "+%lld", v);
        sum += v;
    }
    return sl_returnf(c, "%lld", sum);
}
SL_FUNCTION(add);

/* For the call API: each argument's type and value. */
static int describe(sl_call *c)
{
    for (int i = 0; i < sl_nargs(c); i++) {
        size_t n;
        switch (sl_arg_type(c, i)) {
        case SL_ARG_INT: sl_yieldf(c, "int %lld;", sl_arg_int(c, i)); break;
        case SL_ARG_DOUBLE: sl_yieldf(c, "double %g;", sl_arg_double(c, i)); break;
        case SL_ARG_STR: { const char *s = sl_arg_str(c, i, &n); sl_yieldf(c, "str %s (%zu);", s, n); break; }
        case SL_ARG_BOOL: sl_yieldf(c, "bool %lld;", sl_arg_int(c, i)); break;
        case SL_ARG_NULL: sl_yieldf(c, "null;"); break;
        case SL_ARG_LIST: sl_yieldf(c, "list;"); break;
        default: sl_yieldf(c, "other;");
        }
    }
    return sl_returnf(c, "%d args", sl_nargs(c));
}
SL_FUNCTION(describe);

/* sl_for_each over square inputs; fails if any input fails. */
static int touch_all(sl_call *c)
{
    int r = sl_for_each(c, "add", sl_range(0, 50));
    return r < 0 ? r : sl_returnf(c, "touched 50\n");
}
SL_WEB_ENDPOINT(touch_all);

static int touch_crash(sl_call *c)
{
    return sl_for_each(c, "crashing", sl_range(0, 3));
}
SL_WEB_ENDPOINT(touch_crash);
