/* The seed's second example: a generator on a GPU pool, streamed through a
 * CPU endpoint. No GPU here? Declare one:
 *
 *     SLUICE_GPUS=fake:1 sluice serve examples/gpu_stream.c
 *     curl --no-buffer http://127.0.0.1:8000/hook
 */
#include <sluice.h>

static int fake_video_render(sl_call *c)
{
    for (int i = 0; i < 10; i++) {
        if (sl_yieldf(c, "data: finished processing some data from GPU %d\n\n", i) < 0)
            return 0; /* the client went away: so did our caller */
        if (i < 9 && sl_sleep(c, 1.0) < 0)
            return 0;
    }
    return 0;
}
SL_FUNCTION(fake_video_render, .gpu = "any");

static int hook(sl_call *c)
{
    return sl_respond(c, sl_spawn(c, "fake_video_render", NULL, 0));
}
SL_WEB_ENDPOINT(hook, .content_type = "text/event-stream");
