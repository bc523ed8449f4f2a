/* The seed's third example: one request farmed out over containers, each
 * result streamed back as it completes.
 *
 *     sluice serve examples/map.c
 *     curl --no-buffer http://127.0.0.1:8000/mapped               # segment 0..9, in order
 *     curl --no-buffer 'http://127.0.0.1:8000/mapped?n=100&ordered=0'
 */
#include <sluice.h>

static int map_me(sl_call *c)
{
    return sl_returnf(c, "segment %lld\n", sl_arg_int(c, 0));
}
SL_FUNCTION(map_me);

static int mapped(sl_call *c)
{
    long long n, ordered;
    if (sl_query_int(c, "n", 10, &n) < 0 || n < 0 || sl_query_int(c, "ordered", 1, &ordered) < 0)
        return sl_fail(c, "n must be a non-negative integer and ordered 0 or 1");
    sl_map_opts o = {.unordered = !ordered};
    return sl_respond(c, sl_map(c, "map_me", sl_range(0, n), &o));
}
SL_WEB_ENDPOINT(mapped, .content_type = "text/plain");
