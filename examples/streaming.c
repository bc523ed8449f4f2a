/* The seed's first example: ten server-sent events, half a second apart.
 *
 *     sluice serve examples/streaming.c
 *     curl --no-buffer http://127.0.0.1:8000/stream_me
 */
#include <sluice.h>

static int stream_me(sl_call *c)
{
    for (int i = 0; i < 10; i++) {
        if (sl_yieldf(c, "data: some data %d\n\n", i) < 0)
            return 0; /* the client went away */
        if (i < 9 && sl_sleep(c, 0.5) < 0)
            return 0;
    }
    return 0;
}
SL_WEB_ENDPOINT(stream_me, .content_type = "text/event-stream");
