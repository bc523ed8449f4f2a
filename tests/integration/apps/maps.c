/* Maps, for the integration tests. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sluice.h>

/* Input i finishes after (n - i) * 60 ms: completion order is reversed. */
static int sleepy(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    sl_sleep(c, (double)(10 - i) * 0.06);
    return sl_returnf(c, "result %lld\n", i);
}
SL_FUNCTION(sleepy);

static int reversed(sl_call *c)
{
    long long ordered;
    sl_query_int(c, "ordered", 1, &ordered);
    sl_map_opts o = {.unordered = !ordered};
    return sl_respond(c, sl_map(c, "sleepy", sl_range(0, 10), &o));
}
SL_WEB_ENDPOINT(reversed, .content_type = "text/plain");

/* Input 3 crashes its container. */
static int fragile(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    if (i == 3)
        raise(SIGSEGV);
    return sl_returnf(c, "ok %lld\n", i);
}
SL_FUNCTION(fragile, .max_inputs = 1);

/* Every result, and an error item for each failed input. */
static int tolerant(sl_call *c)
{
    sl_map_opts o = {.return_exceptions = true};
    sl_handle *m = sl_map(c, "fragile", sl_range(0, 10), &o);
    const void *d;
    size_t n;
    int r;
    while ((r = sl_next(m, &d, &n, SL_FOREVER)) != 0) {
        if (r == 1)
            sl_yield(c, d, n);
        else if (r == SL_EFAILED)
            sl_yieldf(c, "error: %s\n", sl_handle_error(m));
        else
            break;
    }
    sl_close(m);
    return 0;
}
SL_WEB_ENDPOINT(tolerant, .content_type = "text/plain");

static int strict(sl_call *c)
{
    return sl_respond(c, sl_map(c, "fragile", sl_range(0, 10), NULL));
}
SL_WEB_ENDPOINT(strict, .content_type = "text/plain");

static int square(sl_call *c)
{
    size_t len;
    const char *s = sl_arg(c, &len);
    return sl_returnf(c, "%.*s^2\n", (int)len, s);
}
SL_FUNCTION(square);

/* sl_items, and sl_select over two maps. */
static int two_maps(sl_call *c)
{
    static const char *words[] = {"a", "bb", "ccc"};
    static const size_t lens[] = {1, 2, 3};
    sl_handle *hs[2] = {sl_map(c, "square", sl_items((const void *const *)words, lens, 3), NULL),
                        sl_map(c, "sleepy", sl_range(8, 10), NULL)};
    int open = 2, got = 0;
    while (open > 0) {
        int k = sl_select(hs, 2, 10.0);
        if (k < 0)
            return sl_fail(c, "select: %s", sl_strerror(k));
        const void *d;
        size_t n;
        int r = sl_next(hs[k], &d, &n, 0);
        if (r == 1) {
            sl_yield(c, d, n);
            got++;
        } else if (r == 0) {
            sl_close(hs[k]);
            hs[k] = NULL;
            open--;
        } else {
            return sl_fail(c, "map %d: %s", k, sl_strerror(r));
        }
    }
    return sl_yieldf(c, "got %d\n", got);
}
SL_WEB_ENDPOINT(two_maps, .content_type = "text/plain");
