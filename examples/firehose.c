/* Benchmark endpoints.
 *
 *   GET /firehose?n=N   N small events ("data: i\n\n"), as fast as the
 *                       client takes them
 *   GET /hello          a fixed "hello\n" (the trivial endpoint)
 */
#include <sluice.h>

static int firehose(sl_call *c)
{
    long long n;
    if (sl_query_int(c, "n", 1000, &n) < 0 || n < 0)
        return sl_fail(c, "n must be a non-negative integer");
    for (long long i = 0; i < n; i++)
        if (sl_yieldf(c, "data: %lld\n\n", i) < 0)
            return 0;
    return 0;
}
SL_WEB_ENDPOINT(firehose, .content_type = "text/event-stream");

static int hello(sl_call *c)
{
    return sl_return(c, "hello\n", 6);
}
SL_WEB_ENDPOINT(hello);
