/* Endpoints for tests/integration/test_probe.sh: odd requests against
 * each kind of endpoint (returned body, event stream, early and late
 * failure, crash, any method). */
#include <signal.h>

#include <sluice.h>

static int hello(sl_call *c)
{
    return sl_returnf(c, "hello\n");
}
SL_WEB_ENDPOINT(hello);

/* Takes any method; an output and a return value. */
static int any(sl_call *c)
{
    sl_yieldf(c, "part one\n");
    return sl_returnf(c, "method=%s\n", sl_method(c));
}
SL_WEB_ENDPOINT(any, .method = "*");

/* Any method, streamed: three events 0.05 s apart. */
static int any_events(sl_call *c)
{
    for (int i = 0; i < 3; i++)
        if (sl_yieldf(c, "data: %d\n\n", i) < 0 || sl_sleep(c, 0.05) < 0)
            return 0;
    return 0;
}
SL_WEB_ENDPOINT(any_events, .method = "*", .content_type = "text/event-stream");

/* 100 events 0.1 s apart, until cancelled. */
static int events(sl_call *c)
{
    for (int i = 0; i < 100; i++)
        if (sl_yieldf(c, "data: %d\n\n", i) < 0 || sl_sleep(c, 0.1) < 0)
            return 0;
    return 0;
}
SL_WEB_ENDPOINT(events, .content_type = "text/event-stream");

/* 64 KiB chunks until cancelled. */
static int big(sl_call *c)
{
    static char chunk[65536];
    while (sl_yield(c, chunk, sizeof chunk) == 0)
        ;
    return 0;
}
SL_WEB_ENDPOINT(big, .content_type = "application/octet-stream");

static int fail_early(sl_call *c)
{
    return sl_fail(c, "bad input");
}
SL_WEB_ENDPOINT(fail_early);

static int fail_late(sl_call *c)
{
    sl_yieldf(c, "data: one\n\n");
    sl_sleep(c, 0.05);
    return sl_fail(c, "lost it");
}
SL_WEB_ENDPOINT(fail_late, .content_type = "text/event-stream");

static int crash(sl_call *c)
{
    (void)c;
    raise(SIGSEGV);
    return 0;
}
SL_WEB_ENDPOINT(crash);

/* Echoes the body (POST). */
static int echo(sl_call *c)
{
    size_t len;
    const char *body = sl_body(c, &len);
    return sl_return(c, body, len);
}
SL_WEB_ENDPOINT(echo, .method = "POST");

/* For the call API: outputs and a return value with line breaks of every
 * kind, at the ends too. */
static int lines(sl_call *c)
{
    sl_yieldf(c, "a\n\n");
    sl_yieldf(c, "\nb\rc\r\nd");
    sl_yieldf(c, "\n");
    return sl_returnf(c, "done\n");
}
SL_FUNCTION(lines);
