/* Endpoints that exercise the server's behaviour in the integration tests. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice.h>

/* 100 events 0.2 s apart; says on stdout how far it got when cancelled. */
static int slow_events(sl_call *c)
{
    for (int i = 0; i < 100; i++) {
        if (sl_yieldf(c, "data: %d\n\n", i) < 0 || sl_sleep(c, 0.2) < 0) {
            printf("slow_events: cancelled after %d events\n", i + 1);
            return 0;
        }
    }
    return 0;
}
SL_WEB_ENDPOINT(slow_events, .content_type = "text/event-stream");

/* Ignores cancellation: plain sleep(3), for a minute. */
static int stubborn(sl_call *c)
{
    sl_yieldf(c, "data: started\n\n");
    for (int i = 0; i < 60; i++)
        sleep(1);
    return 0;
}
SL_WEB_ENDPOINT(stubborn, .content_type = "text/event-stream");

static int fail_early(sl_call *c)
{
    return sl_fail(c, "bad input: %s", sl_query(c));
}
SL_WEB_ENDPOINT(fail_early);

static int crash_early(sl_call *c)
{
    (void)c;
    raise(SIGSEGV);
    return 0;
}
SL_WEB_ENDPOINT(crash_early);

static int fail_late(sl_call *c)
{
    sl_yieldf(c, "data: one\n\n");
    sl_yieldf(c, "data: two\n\n");
    sl_sleep(c, 0.2);
    return sl_fail(c, "lost the GPU\r\nhalfway"); /* CR LF: one line break */
}
SL_WEB_ENDPOINT(fail_late, .content_type = "text/event-stream");

static int crash_late(sl_call *c)
{
    sl_yieldf(c, "data: one\n\n");
    sl_sleep(c, 0.2);
    raise(SIGSEGV);
    return 0;
}
SL_WEB_ENDPOINT(crash_late, .content_type = "text/event-stream");

static int fail_late_plain(sl_call *c)
{
    sl_yieldf(c, "part one\n");
    sl_sleep(c, 0.2);
    return sl_fail(c, "could not finish");
}
SL_WEB_ENDPOINT(fail_late_plain);

static int headers(sl_call *c)
{
    sl_set_status(c, 201);
    sl_set_header(c, "X-Test", "yes");
    sl_set_content_type(c, "application/json");
    int bad = sl_set_header(c, "X-Bad", "a\r\nb");
    return sl_returnf(c, "{\"bad_header\": %d}\n", bad);
}
SL_WEB_ENDPOINT(headers);

/* Echoes the request: method, path, query param, a header, the body. */
static int echo(sl_call *c)
{
    size_t len;
    const char *body = sl_body(c, &len);
    const char *who = sl_query_param(c, "who");
    const char *agent = sl_header(c, "x-agent");
    sl_yieldf(c, "method=%s path=%s who=%s agent=%s\n", sl_method(c), sl_path(c), who ? who : "-",
              agent ? agent : "-");
    sl_yieldf(c, "body=");
    sl_yield(c, body, len);
    return sl_returnf(c, "\nlate_status=%d\n", sl_set_status(c, 404));
}
SL_WEB_ENDPOINT(echo, .method = "POST");

/* Silent for 3 s before its one event (pings fill the gap). */
static int silent(sl_call *c)
{
    if (sl_sleep(c, 3.0) < 0)
        return 0;
    return sl_yieldf(c, "data: finally\n\n");
}
SL_WEB_ENDPOINT(silent, .content_type = "text/event-stream");

/* 64 KiB chunks until cancelled; reports how many it produced. */
static int big(sl_call *c)
{
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    long n = 0;
    while (sl_yield(c, chunk, sizeof chunk) == 0)
        n++;
    printf("big: cancelled after %ld chunks\n", n);
    return 0;
}
SL_WEB_ENDPOINT(big, .content_type = "application/octet-stream");

static int hello(sl_call *c)
{
    return sl_returnf(c, "hello\n");
}
SL_WEB_ENDPOINT(hello);

/* 1 KiB lines as fast as the client takes them, until it leaves; then
 * says how many it produced. */
static int lines(sl_call *c)
{
    static char line[1024];
    memset(line, 'y', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    long n = 0;
    while (sl_yield(c, line, sizeof line) == 0)
        n++;
    printf("lines: cancelled after %ld\n", n);
    return 0;
}
SL_WEB_ENDPOINT(lines);
