/*
 * calls.c: functions calling functions, on the server.
 *
 * A container's CALL frame (for handle h, on behalf of its call p) becomes
 * a stream like an HTTP request's, queued on the callee's pool; but its
 * sink is the caller's container: the callee's outputs go back as
 * CALL_OUTPUT frames for h as they arrive, and its end as CALL_RETURN or
 * CALL_ERROR. Nothing is buffered here: the caller credits what it has
 * consumed (CALL_CREDIT) and the credit goes on to the callee, so the
 * window holds end to end.
 *
 * The streams form a tree (parent = the call that made them): cancelling or
 * ending a call cancels its children, and so on down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "server/server.h"

static sl_stream *find_handle(sl_container *ct, uint32_t handle)
{
    sl_list_each(it, &ct->handles)
    {
        sl_stream *s = sl_container_of(it, sl_stream, caller_link);
        if (s->handle == handle)
            return s;
    }
    return NULL;
}

/* The caller no longer wants to hear about this call. */
static void detach_caller(sl_stream *s)
{
    if (sl_list_linked(&s->caller_link))
        sl_list_remove(&s->caller_link);
    s->caller = NULL;
}

static void reply_error(sl_container *ct, uint32_t handle, const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    sl_pool_send(ct, SL_FRAME_CALL_ERROR, handle, msg, strlen(msg));
}

static int start_call(sl_container *ct, uint32_t handle, bool batch, const uint8_t *p, size_t len)
{
    sl_callreq *req;
    int r = sl_callreq_decode(p, len, &req);
    if (r)
        return r;
    sl_stream *parent = sl_stream_find(req->parent);
    if (!parent || parent->ct != ct || find_handle(ct, handle)) {
        free(req);
        return -EBADMSG; /* only a running call of this container makes calls */
    }
    sl_function *fn = sl_pool_find(req->fn);
    sl_stream *s = fn ? sl_stream_alloc(fn) : NULL;
    if (!s) {
        reply_error(ct, handle, fn ? "server out of memory calling %s" : "no function named %s", req->fn);
        free(req);
        return 0;
    }
    if (sl_buf_append(&s->arg, req->arg, req->arg_len)) {
        free(req);
        s->done = true;
        sl_stream_release(s);
        reply_error(ct, handle, "server out of memory calling %s", fn->info.name);
        return 0;
    }
    free(req);
    s->is_call = true;
    s->is_batch = batch;
    s->caller = ct;
    s->handle = handle;
    sl_list_push(&ct->handles, &s->caller_link);
    s->parent = parent;
    sl_list_push(&parent->children, &s->child_link);
    fn->calls_started++;
    sl_pool_submit(s);
    return 0;
}

int sl_calls_on_caller_frame(sl_container *ct, uint8_t type, uint32_t handle, const uint8_t *p, size_t len)
{
    if (type == SL_FRAME_CALL || type == SL_FRAME_CALL_MAP)
        return start_call(ct, handle, type == SL_FRAME_CALL_MAP, p, len);
    sl_stream *s = find_handle(ct, handle);
    if (!s)
        return 0; /* it ended while this frame was on its way */
    if (type == SL_FRAME_CALL_CREDIT) {
        uint32_t bytes;
        if (sl_credit_decode(p, len, &bytes))
            return -EBADMSG;
        sl_stream *target = sl_stream_credit_target(s);
        if (target->ct && !target->done)
            sl_pool_credit(target, bytes);
        return 0;
    }
    if (type == SL_FRAME_CALL_PIPE) {
        /* only before anything went to the caller: order must hold */
        if (!s->delivered && !s->done && s->parent && !s->parent->piped_child) {
            s->piped = true;
            s->parent->piped_child = s;
        }
        return 0;
    }
    detach_caller(s); /* CALL_CANCEL */
    sl_stream_cancel(s, "its caller cancelled it");
    return 0;
}

/* Tells the caller its callee failed: "<function>: <why>". CALL_LOST when
 * the callee was only a bystander of another input's crash; CALL_CRASHED
 * (with the input first) when one input of a batch crashed it. */
static void report_failure(sl_stream *s, const char *why, size_t len)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s: %.*s", s->fn->info.name, (int)(len > 900 ? 900 : len), why);
    size_t msg_len = n < (int)sizeof msg ? (size_t)n : sizeof msg - 1;
    sl_buf crashed = {0};
    if (s->crashed_input && sl_crashed_encode(&crashed, s->crashed_input - 1, msg, msg_len) == 0)
        sl_pool_send(s->caller, SL_FRAME_CALL_CRASHED, s->handle, crashed.data, crashed.len);
    else
        sl_pool_send(s->caller, s->lost ? SL_FRAME_CALL_LOST : SL_FRAME_CALL_ERROR, s->handle, msg, msg_len);
    sl_buf_free(&crashed);
}

/* The callee's call ended: report to the caller (a return value with its
 * frame's flags), count it, let it go. */
static void call_ended(sl_stream *s, bool failed, uint8_t flags, const uint8_t *p, size_t len)
{
    s->done = true;
    s->ct = NULL;
    sl_calls_cancel_children(s, "its caller ended");
    if (s->caller && !s->cancelled) {
        if (failed) {
            report_failure(s, (const char *)p, len);
            s->fn->calls_failed++;
        } else {
            sl_pool_send_flags(s->caller, SL_FRAME_CALL_RETURN, flags, s->handle, p, len);
            s->fn->calls_ok++;
        }
    }
    detach_caller(s);
    sl_stream_mark_dirty(s); /* the flush frees it */
}

int sl_calls_on_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len)
{
    switch (type) {
    case SL_FRAME_HEAD: {
        sl_head *h; /* no HTTP response to apply it to: check it only */
        int r = sl_head_decode(p, len, &h);
        free(h);
        return r;
    }
    case SL_FRAME_OUTPUT:
        if (s->piped && s->parent && !s->cancelled)
            sl_stream_emit(s->parent, flags, p, len);
        else
            sl_calls_forward(s, flags, p, len);
        return 0;
    case SL_FRAME_RETURN:
    case SL_FRAME_ERROR:
        call_ended(s, type == SL_FRAME_ERROR, flags, p, len);
        return 0;
    default:
        return -EBADMSG;
    }
}

int sl_calls_encode_input(sl_stream *s, sl_buf *out)
{
    size_t n = strlen(s->fn->info.name);
    char path[256];
    snprintf(path, sizeof path, "/%s", s->fn->info.name);
    /* The method tells the container how to run it: one input, or a batch. */
    sl_strv method = s->is_batch ? (sl_strv){"MAP", 3} : (sl_strv){"CALL", 4};
    int r = sl_request_begin(out, method, (sl_strv){path, n + 1 < sizeof path ? n + 1 : sizeof path - 1},
                             (sl_strv){"", 0}, 0);
    if (!r)
        r = sl_request_end(out, (sl_strv){(const char *)s->arg.data, s->arg.len});
    return r;
}

void sl_calls_forward(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    if (s->caller && !s->cancelled) {
        sl_pool_send_flags(s->caller, SL_FRAME_CALL_OUTPUT, flags, s->handle, p, len);
        s->delivered = true;
    }
}

/* Breaks the parent/child link (the child is cancelled or freed). */
static void orphan(sl_stream *child)
{
    if (sl_list_linked(&child->child_link))
        sl_list_remove(&child->child_link);
    if (child->parent && child->parent->piped_child == child)
        child->parent->piped_child = NULL;
    child->parent = NULL;
    child->piped = false;
}

void sl_calls_timed_out(sl_stream *s, const char *why)
{
    if (s->caller)
        report_failure(s, why, strlen(why));
    detach_caller(s);
}

void sl_calls_cancel_children(sl_stream *parent, const char *why)
{
    while (!sl_list_empty(&parent->children)) {
        sl_stream *c = sl_container_of(parent->children.next, sl_stream, child_link);
        orphan(c);
        detach_caller(c);
        sl_stream_cancel(c, why);
    }
}

void sl_calls_caller_lost(sl_container *ct)
{
    while (!sl_list_empty(&ct->handles)) {
        sl_stream *s = sl_container_of(ct->handles.next, sl_stream, caller_link);
        detach_caller(s);
        sl_stream_cancel(s, "its caller's container died");
    }
}

void sl_calls_unlink(sl_stream *s)
{
    detach_caller(s);
    orphan(s);
    while (!sl_list_empty(&s->children))
        orphan(sl_container_of(s->children.next, sl_stream, child_link));
}
