/*
 * gateway.c: HTTP requests in, streamed responses out (h2o).
 *
 * A request to /<endpoint> becomes a stream: a call queued on the function's
 * pool, whose frames (HEAD, OUTPUT..., RETURN or ERROR) arrive from a
 * container. Output accumulates in `pending` and goes to h2o in one
 * h2o_send per flush; while h2o writes `inflight`, more piles up. When h2o
 * calls proceed, the bytes it took are credited back to the container (in
 * steps of SL_CREDIT_STEP), so a call has no more than about
 * SL_STREAM_WINDOW bytes between its yield and the client.
 *
 * The client may vanish at any time: h2o then frees the request's pool, and
 * the guard allocated in it tells us (on_req_dispose). The stream itself
 * lives until its call has ended too, since the container still owes a
 * RETURN or ERROR frame for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/frame.h"
#include "proto/limits.h"
#include "server/server.h"

/* after h2o.h, which it needs; see server/compat/khash.h */
#include <h2o/http2.h>
#include <h2o/http2_internal.h>

static sl_list g_all = {&g_all, &g_all};     /* every live stream */
static sl_list g_dirty = {&g_dirty, &g_dirty}; /* streams with something to flush */
static size_t g_nstreams;

/* ---- call ids: a slot index (low 20 bits) and a generation ---- */

/* Seconds between two checks that an HTTP/1.1 client is still there. */
#define PEEK_INTERVAL 1.0

#define SLOT_BITS 20u
#define SLOT_MASK ((1u << SLOT_BITS) - 1)

typedef struct call_slot {
    sl_stream *s;
    uint32_t gen;
} call_slot;

static call_slot *g_slots;
static uint32_t g_nslots, g_slots_cap;
static uint32_t *g_free;
static uint32_t g_nfree;

static int calls_add(sl_stream *s)
{
    uint32_t idx;
    if (g_nfree) {
        idx = g_free[--g_nfree];
    } else {
        if (g_nslots == SLOT_MASK)
            return -ENOSPC;
        if (g_nslots == g_slots_cap) {
            uint32_t cap = g_slots_cap ? g_slots_cap * 2 : 1024;
            call_slot *slots = realloc(g_slots, cap * sizeof *slots);
            if (!slots)
                return -ENOMEM;
            g_slots = slots;
            uint32_t *fr = realloc(g_free, cap * sizeof *fr);
            if (!fr)
                return -ENOMEM;
            g_free = fr;
            g_slots_cap = cap;
        }
        idx = g_nslots++;
        g_slots[idx].gen = 0;
    }
    uint32_t gen = (g_slots[idx].gen + 1) & (0xFFFu);
    if (gen == 0)
        gen = 1; /* call id 0 is never a call */
    g_slots[idx] = (call_slot){s, gen};
    s->call_id = gen << SLOT_BITS | idx;
    return 0;
}

sl_stream *sl_stream_find(uint32_t id)
{
    uint32_t idx = id & SLOT_MASK;
    if (idx >= g_nslots || !g_slots[idx].s || g_slots[idx].gen != id >> SLOT_BITS)
        return NULL;
    return g_slots[idx].s;
}

static void calls_remove(uint32_t id)
{
    uint32_t idx = id & SLOT_MASK;
    g_slots[idx].s = NULL;
    g_free[g_nfree++] = idx;
}

/* ---- stream lifetime ---- */

void sl_stream_mark_dirty(sl_stream *s)
{
    if (!sl_list_linked(&s->dirty_link))
        sl_list_push(&g_dirty, &s->dirty_link);
}

/* Frees the stream once nothing refers to it: the request is gone and the
 * call has ended. */
static void stream_maybe_free(sl_stream *s)
{
    if (s->req || !s->done || s->in_send)
        return;
    calls_remove(s->call_id);
    sl_list_remove(&s->all_link);
    if (sl_list_linked(&s->dirty_link))
        sl_list_remove(&s->dirty_link);
    sl_calls_unlink(s);
    sl_buf_free(&s->arg);
    sl_buf_free(&s->pending);
    sl_buf_free(&s->inflight);
    free(s->head);
    free(s->error);
    free(s);
    g_nstreams--;
}

/* Forgets the request, so that h2o disposing it later won't reach us. */
static h2o_req_t *detach(sl_stream *s)
{
    h2o_req_t *req = s->req;
    if (s->guard)
        *s->guard = NULL;
    s->guard = NULL;
    s->req = NULL;
    return req;
}

/* Stops the call: a queued call simply leaves the queue; a running one is
 * told to stop and lives on until its container ends it. Every call it
 * made is cancelled too. Frees nothing (the flush does): safe in loops. */
static void stop_call(sl_stream *s, const char *why)
{
    s->cancelled = true;
    if (!s->ct) {
        sl_pool_unqueue(s);
        s->done = s->failed = true;
        if (!s->error)
            s->error = strdup(why);
    } else {
        sl_pool_send_cancel(s);
        s->cancel_at = sl_now();
    }
    sl_calls_cancel_children(s, "its caller was cancelled");
    sl_stream_mark_dirty(s);
}

/* Its client left, its caller gave up, or we gave up on the client. */
void sl_stream_cancel(sl_stream *s, const char *why)
{
    if (s->done || s->cancelled)
        return;
    s->fn->calls_cancelled++;
    if (!sl_cfg.quiet)
        sl_log("call %08x to %s cancelled: %s", s->call_id, s->fn->info.name, why);
    stop_call(s, why);
}

void sl_stream_timeout(sl_stream *s)
{
    char why[96];
    snprintf(why, sizeof why, "timed out after %g s", s->fn->info.timeout);
    s->fn->calls_failed++;
    sl_log("call %08x to %s %s", s->call_id, s->fn->info.name, why);
    if (s->is_call)
        sl_calls_timed_out(s, why);
    else if (!s->error)
        s->error = strdup(why); /* the client hears it once the call has stopped */
    stop_call(s, why);
}

static void client_gone(sl_stream *s, const char *why)
{
    sl_stream_cancel(s, why);
    stream_maybe_free(s);
}

static void on_req_dispose(void *p)
{
    sl_stream *s = *(sl_stream **)p;
    if (!s)
        return;
    s->req = NULL;
    s->guard = NULL;
    client_gone(s, "client disconnected");
}

/* ---- responses ---- */

const char *sl_reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
    }
}

static bool is_event_stream(const char *ct)
{
    return strncmp(ct, "text/event-stream", 17) == 0;
}

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_iovec_t n = h2o_strdup(&req->pool, name, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

static void start_response(sl_stream *s)
{
    h2o_req_t *req = s->req;
    const sl_head *h = s->format ? NULL : s->head; /* the call API frames it itself */
    const char *ct = s->format ? sl_api_content_type(s->format)
                     : h && *h->content_type ? h->content_type
                                             : s->fn->info.content_type;
    req->res.status = h ? (int)h->status : 200;
    req->res.reason = sl_reason_phrase(req->res.status);
    add_header(req, "content-type", ct);
    s->is_sse = is_event_stream(ct);
    if (s->is_sse) {
        add_header(req, "cache-control", "no-cache");
        add_header(req, "x-accel-buffering", "no");
    }
    for (uint32_t i = 0; h && i < h->nheaders; i++)
        add_header(req, h->headers[i].name, h->headers[i].value);
    if (s->done && !s->failed)
        req->res.content_length = s->pending.len;
    h2o_start_response(req, &s->gen);
    s->started = true;
}

/* A failure before the first byte: a plain error response. */
static void respond_error(sl_stream *s, int status, const char *reason)
{
    h2o_req_t *req = detach(s);
    if (s->format) {
        sl_api_send_error(req, status, reason);
        return;
    }
    char body[1024];
    snprintf(body, sizeof body, "%s\n", reason);
    h2o_send_error_generic(req, status, sl_reason_phrase(status), body, 0);
}

/* Appends an SSE error event; every line of the reason is a data line. */
static void append_sse_error(sl_stream *s)
{
    const char *r = s->error ? s->error : "the call failed";
    (void)sl_sse_append(&s->pending, "error", (const uint8_t *)r, strlen(r));
    /* on ENOMEM the stream is still cut (ERROR state): never a clean end */
}

static void send_pending(sl_stream *s)
{
    sl_buf_swap(&s->pending, &s->inflight);
    s->inflight_credit = s->pending_credit;
    s->pending_credit = 0;
    s->sending = true;
    s->send_started = sl_now();
    h2o_iovec_t buf = {(char *)s->inflight.data, s->inflight.len};
    s->in_send = true;
    /* a HEAD gets the headers only; h2o then ends the response and lets the
     * request go, which cancels the call as for a client that left */
    h2o_send(s->req, &buf, sl_is_head(s->req) ? 0 : 1, H2O_SEND_STATE_IN_PROGRESS);
    s->in_send = false;
}

/* Ends the response. A success sends what is pending with the final state
 * (copied into the request's pool, which h2o frees after writing it). A
 * failure first sends what is pending, with the SSE error event, then cuts
 * the stream (no final chunk; RST_STREAM over HTTP/2). */
static void send_final(sl_stream *s)
{
    if (s->failed) {
        if (s->is_sse && !s->error_sent)
            append_sse_error(s);
        else if (s->format && !s->error_sent)
            sl_api_error(s, s->error ? s->error : "the call failed");
        s->error_sent = true;
        if (s->pending.len) {
            send_pending(s); /* proceed() brings us back for the cut */
            return;
        }
    }
    h2o_req_t *req = s->req;
    h2o_iovec_t buf = {NULL, 0};
    if (s->pending.len) {
        buf.base = h2o_mem_alloc_pool(&req->pool, s->pending.len);
        memcpy(buf.base, s->pending.data, s->pending.len);
        buf.len = s->pending.len;
        s->pending.len = 0;
    }
    /* Over HTTP/2, clients drop data that arrives with a RST_STREAM: there an
     * event stream ends after its error event, which is its failure signal. */
    bool cut = s->failed && !(s->is_sse && req->version >= 0x200);
    detach(s);
    h2o_send(req, &buf, buf.len && !sl_is_head(req) ? 1 : 0, cut ? H2O_SEND_STATE_ERROR : H2O_SEND_STATE_FINAL);
}

static void stream_flush(sl_stream *s)
{
    if (!s->req) {
        stream_maybe_free(s);
        return;
    }
    if (s->sending)
        return; /* proceed() comes back here */
    if (!s->started) {
        if (s->done && s->failed && s->pending.len == 0) {
            respond_error(s, 500, s->error ? s->error : "the call failed");
            stream_maybe_free(s);
            return;
        }
        if (!s->done && s->pending.len == 0)
            return;
        start_response(s);
    }
    if (s->done) {
        send_final(s);
        stream_maybe_free(s);
    } else if (s->pending.len) {
        send_pending(s);
        if (!s->req)
            stream_maybe_free(s);
    }
}

void sl_gateway_flush(void)
{
    while (!sl_list_empty(&g_dirty)) {
        sl_stream *s = sl_container_of(g_dirty.next, sl_stream, dirty_link);
        sl_list_remove(&s->dirty_link);
        stream_flush(s);
    }
}

/* A stream keeps the buffer h2o wrote for the next send up to this size. */
#define KEEP_BUFFER (64u * 1024u)

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    sl_stream *s = sl_container_of(gen, sl_stream, gen);
    s->sending = false;
    s->last_write = sl_now();
    sl_stream *target = sl_stream_credit_target(s);
    if (s->inflight_credit && target->ct)
        sl_pool_credit(target, s->inflight_credit);
    s->inflight_credit = 0;
    s->inflight.len = 0;
    /* A big buffer is a slow client's: while h2o writes one, the next
     * fills, so keeping both would hold twice the window per stream. */
    if (s->inflight.cap > KEEP_BUFFER)
        sl_buf_free(&s->inflight);
    sl_stream_mark_dirty(s);
}

/* ---- frames from the call's container ---- */

static void call_ended(sl_stream *s, bool failed, const char *reason, size_t reason_len)
{
    s->done = true;
    s->ct = NULL;
    sl_calls_cancel_children(s, "its caller ended");
    if (!s->req) {
        stream_maybe_free(s); /* cancelled earlier: already counted */
        return;
    }
    if (s->cancelled) {
        /* the client is gone but h2o has not noticed yet: end the response
         * as cut, so h2o finds the closed socket and lets the request go */
        s->failed = true;
        sl_stream_mark_dirty(s);
        return;
    }
    if (failed) {
        s->failed = true;
        s->error = strndup(reason, reason_len);
        s->fn->calls_failed++;
        if (!sl_cfg.quiet)
            sl_log("call %08x to %s failed: %.*s", s->call_id, s->fn->info.name, (int)reason_len, reason);
    } else {
        s->fn->calls_ok++;
    }
    sl_stream_mark_dirty(s);
}

static int append_output(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    if (!s->req || s->cancelled)
        return 0; /* the container stops at its next yield */
    if (s->format ? sl_api_output(s, flags, p, len) : sl_api_web_value(s, flags, p, len))
        return -ENOMEM;
    s->delivered = true;
    s->pending_credit += len;
    sl_stream_mark_dirty(s);
    return 0;
}

void sl_stream_emit(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    if (s->is_call)
        sl_calls_forward(s, flags, p, len);
    else if (append_output(s, flags, p, len))
        sl_stream_cancel(s, "server out of memory");
}

sl_stream *sl_stream_credit_target(sl_stream *s)
{
    return s->piped_child && s->piped_child->ct ? s->piped_child : s;
}

int sl_stream_on_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len)
{
    if (s->is_call)
        return sl_calls_on_frame(s, type, flags, p, len);
    if (s->detached)
        return sl_api_detached_frame(s, type, flags, p, len);
    switch (type) {
    case SL_FRAME_HEAD:
        /* a second head, or one that does not decode: the container is broken.
         * (A head after a keep-alive ping started the response is too late
         * to apply, and kept only to catch a second one.) */
        if (s->head)
            return -EBADMSG;
        return sl_head_decode(p, len, &s->head);
    case SL_FRAME_OUTPUT:
        return append_output(s, flags, p, len);
    case SL_FRAME_RETURN:
        if (s->req && !s->cancelled &&
            (s->format ? sl_api_return(s, flags, p, len) : sl_api_web_value(s, flags, p, len)))
            call_ended(s, true, "server out of memory", 20);
        else
            call_ended(s, false, NULL, 0);
        return 0;
    case SL_FRAME_ERROR:
        call_ended(s, true, (const char *)p, len);
        return 0;
    default:
        return -EBADMSG;
    }
}

void sl_stream_fail(sl_stream *s, const char *reason)
{
    if (s->is_call || s->detached) {
        sl_stream_on_frame(s, SL_FRAME_ERROR, 0, (const uint8_t *)reason, strlen(reason));
        return;
    }
    call_ended(s, true, reason, strlen(reason));
}

int sl_stream_encode_input(sl_stream *s, sl_buf *out)
{
    if (s->is_call || s->format) /* typed arguments, not an HTTP request */
        return sl_calls_encode_input(s, out);
    h2o_req_t *req = s->req;
    sl_strv method = {req->method.base, req->method.len};
    sl_strv path = {req->path_normalized.base, req->path_normalized.len};
    sl_strv query = {"", 0};
    if (req->query_at != SIZE_MAX)
        query = (sl_strv){req->path.base + req->query_at + 1, req->path.len - req->query_at - 1};
    int r = sl_request_begin(out, method, path, query, (uint32_t)req->headers.size);
    for (size_t i = 0; !r && i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        r = sl_request_add_header(out, (sl_strv){h->name->base, h->name->len},
                                  (sl_strv){h->value.base, h->value.len});
    }
    if (!r)
        r = sl_request_end(out, (sl_strv){req->entity.base, req->entity.base ? req->entity.len : 0});
    return r;
}

/* ---- timers: pings, write deadlines, cancellation grace ---- */

/* The client connection's socket, or -1. */
static int conn_fd(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    return sock ? h2o_socket_get_fd(sock) : -1;
}

/* An HTTP/2 stream whose own flow-control window the client keeps shut,
 * on a connection that still takes data, is reset alone (RST_STREAM with
 * CANCEL), as h2o does for a client's own RST_STREAM: the client's other
 * streams go on. h2o 2.2 has no public call for it; these are its
 * internals (h2o/http2_internal.h), as its connection.c uses them. false
 * when the whole connection is stuck (or closing): that one is shut down. */
static bool reset_http2_stream(h2o_req_t *req)
{
    if (req->version < 0x200)
        return false;
    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)req->conn;
    h2o_http2_stream_t *st = H2O_STRUCT_FROM_MEMBER(h2o_http2_stream_t, req, req);
    if (conn->state >= H2O_HTTP2_CONN_STATE_IS_CLOSING || st->state == H2O_HTTP2_STREAM_STATE_END_STREAM ||
        h2o_http2_window_get_window(&st->output_window) > 0 || h2o_http2_window_get_window(&conn->_write.window) <= 0)
        return false;
    h2o_http2_encode_rst_stream_frame(&conn->_write.buf, st->stream_id, -H2O_HTTP2_ERROR_CANCEL);
    h2o_http2_conn_request_write(conn);
    h2o_http2_stream_reset(conn, st); /* may dispose the request now */
    return true;
}

/* A client that left a write unread past the deadline is as good as gone:
 * cancel its call, and reset its stream (HTTP/2, when only that stream is
 * stuck) or shut its socket down, so h2o fails the write, closes the
 * connection and disposes the request. May free s. */
static void drop_slow_client(sl_stream *s)
{
    char why[96];
    snprintf(why, sizeof why, "client read nothing for %.0f s", sl_cfg.write_timeout);
    h2o_req_t *req = s->req;
    int fd = conn_fd(req);
    s->send_started = sl_now(); /* one drop per deadline, not one per sweep */
    sl_stream_cancel(s, why);
    if (reset_http2_stream(req))
        return;
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

/* HTTP/1.1: h2o reads nothing from a connection while its response is
 * being produced, so a client that closes while its stream is silent would
 * only be noticed at the next write. A peek at the socket notices it now.
 * A stream that wrote in the last PEEK_INTERVAL is not peeked: its writes
 * fail soon after the client goes (the first draws the client's reset),
 * and a peek a second for each of 10,000 such streams was 7% of a core. */
static bool http1_client_closed(sl_stream *s)
{
    int fd = s->req->version < 0x200 ? conn_fd(s->req) : -1;
    if (fd < 0)
        return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void sweep_stream(sl_stream *s, double now)
{
    if (!s->done && !s->cancelled && s->ct && s->fn->info.timeout > 0 && now - s->run_at >= s->fn->info.timeout) {
        sl_stream_timeout(s);
        return;
    }
    if (!s->done && s->ct && s->cancel_at > 0 && now - s->cancel_at >= sl_cfg.cancel_grace) {
        s->cancel_at = 0;
        sl_pool_kill(s->ct, "a cancelled call ran past the grace period");
        return;
    }
    if (s->req && !s->cancelled && !s->sending && now - s->last_peek >= PEEK_INTERVAL &&
        now - s->last_write >= PEEK_INTERVAL) {
        s->last_peek = now;
        if (http1_client_closed(s)) {
            sl_stream_cancel(s, "client disconnected");
            return;
        }
    }
    if (s->req) {
        if (s->sending && now - s->send_started >= sl_cfg.write_timeout) {
            drop_slow_client(s);
        } else if (s->is_sse && !s->done && !s->sending && now - s->last_write >= sl_cfg.ping_interval) {
            if (sl_buf_append(&s->pending, ": ping\n\n", 8) == 0) {
                s->last_write = now;
                sl_stream_mark_dirty(s);
            }
        }
    }
}

void sl_gateway_sweep(void)
{
    double now = sl_now();
    sl_list_each(it, &g_all) sweep_stream(sl_container_of(it, sl_stream, all_link), now);
}

size_t sl_gateway_open_streams(void)
{
    return g_nstreams;
}

/* ---- requests ---- */

static int respond_plain(h2o_req_t *req, int status, const char *body)
{
    h2o_send_error_generic(req, status, sl_reason_phrase(status), body, 0);
    return 0;
}

static bool method_allowed(const sl_function *fn, h2o_req_t *req)
{
    const char *m = fn->info.method;
    if (strcmp(m, "*") == 0)
        return true;
    if (strcmp(m, "GET") == 0 && sl_is_head(req))
        return true; /* HTTP: HEAD goes wherever GET does (headers only) */
    return strlen(m) == req->method.len && memcmp(m, req->method.base, req->method.len) == 0;
}

static sl_stream *stream_new(sl_function *fn, h2o_req_t *req);

static int on_sluice_path(h2o_req_t *req, h2o_iovec_t path)
{
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/_sluice/health"))) {
        req->res.status = 200;
        req->res.reason = "OK";
        add_header(req, "content-type", "text/plain; charset=utf-8");
        h2o_send_inline(req, H2O_STRLIT("ok\n")); /* starts the response itself */
        return 0;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/_sluice/status"))) {
        sl_status_respond(req);
        return 0;
    }
    if (path.len > 14 && memcmp(path.base, "/_sluice/call/", 14) == 0)
        return sl_api_call(req, h2o_iovec_init(path.base + 14, path.len - 14), stream_new, false);
    if (path.len > 15 && memcmp(path.base, "/_sluice/spawn/", 15) == 0)
        return sl_api_call(req, h2o_iovec_init(path.base + 15, path.len - 15), stream_new, true);
    if (path.len > 16 && memcmp(path.base, "/_sluice/result/", 16) == 0)
        return sl_api_result(req, h2o_iovec_init(path.base + 16, path.len - 16));
    return respond_plain(req, 404, "no such sluice path\n");
}

sl_stream *sl_stream_alloc(sl_function *fn)
{
    sl_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (calls_add(s)) {
        free(s);
        return NULL;
    }
    s->fn = fn;
    s->last_write = sl_now();
    sl_list_init(&s->link);
    sl_list_init(&s->dirty_link);
    sl_list_init(&s->caller_link);
    sl_list_init(&s->child_link);
    sl_list_init(&s->children);
    sl_list_push(&g_all, &s->all_link);
    g_nstreams++;
    return s;
}

void sl_stream_release(sl_stream *s)
{
    stream_maybe_free(s);
}

static sl_stream *stream_new(sl_function *fn, h2o_req_t *req)
{
    sl_stream *s = sl_stream_alloc(fn);
    if (!s)
        return NULL;
    void **guard = h2o_mem_alloc_shared(&req->pool, sizeof *guard, on_req_dispose);
    *guard = s;
    s->guard = guard;
    s->req = req;
    s->gen.proceed = on_proceed;
    s->gen.stop = NULL; /* on_req_dispose hears of every ending */
    s->is_sse = is_event_stream(fn->info.content_type);
    return s;
}

/* 431 with a reason when the request's headers are past our bounds; 0
 * when they are within them. */
static int refuse_big_headers(h2o_req_t *req)
{
    size_t bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
    char body[120];
    if (req->headers.size > SL_MSG_MAX_HEADERS)
        snprintf(body, sizeof body, "more than %u request headers\n", SL_MSG_MAX_HEADERS);
    else if (bytes > SL_MAX_HEADER_BYTES)
        snprintf(body, sizeof body, "request headers of %zu bytes; the limit is %u\n", bytes, SL_MAX_HEADER_BYTES);
    else
        return 0;
    respond_plain(req, 431, body);
    return 1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    h2o_iovec_t path = req->path_normalized;
    if (refuse_big_headers(req))
        return 0;
    if (path.len >= 9 && memcmp(path.base, "/_sluice/", 9) == 0)
        return on_sluice_path(req, path);
    sl_function *fn = path.len > 1 ? sl_pool_find_web(path.base + 1, path.len - 1) : NULL;
    if (!fn) {
        char body[300];
        snprintf(body, sizeof body, "no endpoint at %.*s\n", (int)(path.len > 200 ? 200 : path.len), path.base);
        return respond_plain(req, 404, body);
    }
    if (!method_allowed(fn, req)) {
        add_header(req, "allow", fn->info.method);
        char body[200];
        snprintf(body, sizeof body, "%s takes %s requests\n", fn->info.name, fn->info.method);
        /* KEEP_HEADERS: without it h2o drops the Allow a 405 must have */
        h2o_send_error_generic(req, 405, sl_reason_phrase(405), body, H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    sl_stream *s = stream_new(fn, req);
    if (!s)
        return respond_plain(req, 503, "server out of memory\n");
    fn->calls_started++;
    sl_pool_submit(s);
    return 0;
}

int sl_gateway_init(h2o_globalconf_t *conf)
{
    h2o_hostconf_t *host = h2o_config_register_host(conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof *handler);
    if (!handler)
        return -ENOMEM;
    handler->on_req = on_req;
    return 0;
}
