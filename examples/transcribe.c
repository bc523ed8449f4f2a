/* The seed's fourth example in spirit: an endpoint does blocking work first
 * (splitting a video), then streams a map over the segments as server-sent
 * events, each as soon as it is transcribed, while other requests keep
 * streaming.
 *
 *     sluice serve examples/transcribe.c
 *     curl --no-buffer 'http://127.0.0.1:8000/transcribe_video?segments=8'
 *
 * What the seed does with asyncio, C does with threads: this input has a
 * thread of its own, so the blocking split (the seed's asyncio.to_thread)
 * is a plain call, and the loop over the map (the seed's
 * `async for ... in transcribe.map.aio(segments)`) blocks only this input.
 */
#include <sluice.h>

/* Stands in for cutting a video into n segments: blocking, 0.3 s. */
static int split_video(sl_call *c, long long n)
{
    (void)n;
    return sl_sleep(c, 0.3);
}

/* Stands in for transcribing one segment on a GPU: 0.2 to 0.8 s. */
static int transcribe_segment(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    if (sl_sleep(c, 0.2 + (double)(i % 4) * 0.2) < 0)
        return 0;
    return sl_returnf(c, "segment %lld: transcribed", i);
}
SL_FUNCTION(transcribe_segment);

static int transcribe_video(sl_call *c)
{
    long long n;
    if (sl_query_int(c, "segments", 8, &n) < 0 || n < 1 || n > 100000)
        return sl_fail(c, "segments must be 1..100000");
    if (split_video(c, n) < 0)
        return 0; /* the client left while we split */
    sl_map_opts o = {.unordered = true}; /* each segment as soon as it is done */
    sl_handle *m = sl_map(c, "transcribe_segment", sl_range(0, n), &o);
    const void *text;
    size_t len;
    int r;
    while ((r = sl_next(m, &text, &len, SL_FOREVER)) == 1)
        if (sl_yieldf(c, "data: %.*s\n\n", (int)len, (const char *)text) < 0)
            break;
    if (r == SL_EFAILED)
        r = sl_fail(c, "%s", sl_handle_error(m));
    sl_close(m);
    return r < 0 && r != SL_EFAILED ? 0 : r;
}
SL_WEB_ENDPOINT(transcribe_video, .content_type = "text/event-stream");
