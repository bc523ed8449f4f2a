/* The seed's example (examples/streaming.c) with warm containers: ten
 * kept from the start, each with its input threads made ahead, for the
 * bench's "warm containers" row. */
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
SL_WEB_ENDPOINT(stream_me, .content_type = "text/event-stream", .min_containers = 10);
