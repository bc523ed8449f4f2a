/*
 * pool.c: each function's containers, and which input runs where.
 *
 * Policy (sluice.h documents it for users): a call goes to the ready
 * container of its function with the fewest inputs in flight, below
 * max_inputs (or to one within max_inputs / 8 of that which already has
 * frames to send: pick_container). When none has room, the call queues
 * (in arrival order) and containers are started, from the zygote, until
 * the starting ones can take the queue or max_containers is reached. A
 * container idle for scaledown_window is told to shut down, down to
 * min_containers.
 *
 * A container that dies takes its in-flight calls with it: each fails with
 * the reason (its wait status, which the zygote reports, or why we killed
 * it), and queued calls start new containers as usual.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/frame.h"
#include "proto/limits.h"
#include "server/server.h"

/* How long a dead container's calls wait for its exit status. */
#define REAP_WAIT_MS 300

sl_function *sl_functions;
uint32_t sl_nfunctions;

sl_gpu_inventory sl_gpus;

/* Containers that die before READY this many times in a row fail the
 * function's queued calls, instead of being restarted forever. */
#define MAX_START_FAILURES 3
/* First retry delay (s); it doubles with each retry, up to RETRY_MAX_DELAY. */
#define RETRY_FIRST_DELAY 0.5
#define RETRY_MAX_DELAY 30.0

static sl_list g_dirty = {&g_dirty, &g_dirty}; /* containers with frames to send */
static sl_list g_retry = {&g_retry, &g_retry}; /* sl_stream.link: calls waiting to run again */
static uint32_t g_next_container_id = 1;
static sl_buf g_scratch; /* one INPUT payload at a time */

static void dispatch(sl_function *fn);

/* Parses a GPU request and checks that the inventory can meet it some
 * day: a function that could never start is an error now, not a hang. */
static int check_gpu_request(const sl_fninfo *f, sl_gpu_request *out)
{
    char err[160];
    if (sl_gpu_parse_request(f->gpu, out, err, sizeof err)) {
        fprintf(stderr, "sluice: function %s: gpu \"%s\": %s\n", f->name, f->gpu, err);
        return -EINVAL;
    }
    if (!sl_gpu_satisfiable(&sl_gpus, out)) {
        fprintf(stderr,
                "sluice: function %s wants gpu \"%s\", but this machine has %d GPU%s (%s); "
                "declare an inventory with SLUICE_GPUS=MODEL:N\n",
                f->name, f->gpu, sl_gpus.count, sl_gpus.count == 1 ? "" : "s", sl_gpus.source);
        return -EINVAL;
    }
    return 0;
}

static int check_gpu_requests(const sl_functable *t)
{
    int bad = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        sl_gpu_request req;
        bad |= check_gpu_request(&t->fns[i], &req) != 0;
    }
    return bad ? -EINVAL : 0;
}

/* The function called `name`, including removed ones (a reload may bring
 * them back). */
static sl_function *find_any(const char *name)
{
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        if (strcmp(sl_functions[i].info.name, name) == 0)
            return &sl_functions[i];
    return NULL;
}

/* Every function table taken so far: functions' strings point into them
 * (a removed function's into an old one), so they live as long as we do. */
static sl_functable *g_tables[1024];
static size_t g_ntables;

/* Takes table `t` as the app's functions: known names are updated in place
 * (streams and containers point at them), new ones are added, and those
 * that are gone are marked removed. */
static int apply_table(sl_functable *t)
{
    if (check_gpu_requests(t))
        return -EINVAL;
    if (g_ntables == sizeof g_tables / sizeof g_tables[0])
        return -ENOSPC; /* a thousand reloads: restart serve */
    for (uint32_t i = 0; i < t->count; i++)
        if (!find_any(t->fns[i].name) && sl_nfunctions + i >= SL_MSG_MAX_FUNCTIONS)
            return -ENOSPC;
    for (uint32_t i = 0; i < sl_nfunctions; i++) {
        sl_functions[i].removed = true;
        sl_functions[i].index = UINT32_MAX;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        sl_function *fn = find_any(t->fns[i].name);
        if (!fn) {
            fn = &sl_functions[sl_nfunctions++];
            sl_list_init(&fn->queue);
            sl_list_init(&fn->containers);
        }
        fn->info = t->fns[i];
        fn->index = i;
        fn->removed = false;
        check_gpu_request(&fn->info, &fn->gpu);
    }
    g_tables[g_ntables++] = t;
    return 0;
}

int sl_pool_init(sl_functable *t)
{
    /* room for every function a reload may add: pointers to them stay valid */
    sl_functions = calloc(SL_MSG_MAX_FUNCTIONS, sizeof *sl_functions);
    if (!sl_functions)
        return -ENOMEM;
    return apply_table(t);
}

sl_function *sl_pool_find(const char *name)
{
    sl_function *fn = find_any(name);
    return fn && !fn->removed ? fn : NULL;
}

sl_function *sl_pool_find_web(const char *name, size_t len)
{
    for (uint32_t i = 0; i < sl_nfunctions; i++) {
        sl_function *fn = &sl_functions[i];
        if (fn->info.is_web && !fn->removed && strlen(fn->info.name) == len && memcmp(fn->info.name, name, len) == 0)
            return fn;
    }
    return NULL;
}

/* ---- sending frames ---- */

static void mark_dirty(sl_container *ct)
{
    if (!sl_list_linked(&ct->dirty_link))
        sl_list_push(&g_dirty, &ct->dirty_link);
}

static void on_write(uv_write_t *w, int status);

/* Frames go out with uv_try_write first: a write the socket takes whole
 * needs no uv_write request, and so no epoll_ctl (libuv re-arms a stream's
 * watcher after each queued write: one syscall per loop iteration that
 * sent anything). What is left, or all of it after an error (on_write
 * reports it), is queued. */
static void container_write(sl_container *ct)
{
    if (ct->writing || ct->out.len == 0 || ct->state == SL_CT_DEAD)
        return;
    uv_buf_t all = uv_buf_init((char *)ct->out.data, (unsigned)ct->out.len);
    int n = uv_try_write((uv_stream_t *)&ct->pipe, &all, 1);
    if (n > 0)
        sl_buf_consume(&ct->out, (size_t)n);
    if (ct->out.len == 0)
        return;
    sl_buf_swap(&ct->out, &ct->wout);
    uv_buf_t b = uv_buf_init((char *)ct->wout.data, (unsigned)ct->wout.len);
    ct->wreq.data = ct;
    int r = uv_write(&ct->wreq, (uv_stream_t *)&ct->pipe, &b, 1, on_write);
    if (r) {
        sl_log("container %u: write: %s", ct->id, uv_strerror(r));
        sl_pool_kill(ct, "the server could not write to it");
        return;
    }
    ct->writing = true;
}

void sl_pool_flush(void)
{
    while (!sl_list_empty(&g_dirty)) {
        sl_container *ct = sl_container_of(g_dirty.next, sl_container, dirty_link);
        sl_list_remove(&ct->dirty_link);
        container_write(ct);
    }
}

void sl_pool_send(sl_container *ct, uint8_t type, uint32_t call_id, const void *p, size_t len)
{
    sl_pool_send_flags(ct, type, 0, call_id, p, len);
}

void sl_pool_send_flags(sl_container *ct, uint8_t type, uint8_t flags, uint32_t call_id, const void *p, size_t len)
{
    if (ct->state == SL_CT_DEAD)
        return;
    if (sl_frame_append_flags(&ct->out, type, flags, call_id, p, len)) {
        sl_pool_kill(ct, "the server ran out of memory for its input");
        return;
    }
    mark_dirty(ct);
}

void sl_pool_send_cancel(sl_stream *s)
{
    sl_pool_send(s->ct, SL_FRAME_CANCEL, s->call_id, NULL, 0);
}

void sl_pool_credit(sl_stream *s, size_t bytes)
{
    s->uncredited += bytes;
    if (s->uncredited < SL_CREDIT_STEP)
        return;
    uint32_t step = s->uncredited > UINT32_MAX ? UINT32_MAX : (uint32_t)s->uncredited;
    uint8_t p[SL_CREDIT_SIZE];
    sl_credit_encode(p, step);
    s->uncredited -= step;
    sl_pool_send(s->ct, SL_FRAME_CREDIT, s->call_id, p, sizeof p);
}

/* ---- starting and losing containers ---- */

/* Work waits for a GPU that an idle container holds: shut that container
 * down (its exit releases the GPU and dispatches the queue). One at a
 * time; a draining container is not idle any more. */
static void reclaim_idle_gpu(const sl_function *wants)
{
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        sl_list_each(it, &sl_functions[i].containers)
        {
            sl_container *ct = sl_container_of(it, sl_container, link);
            if (ct->state != SL_CT_READY || ct->inflight || !ct->gpus[0] || ct->kill_reason)
                continue;
            for (int d = 0; d < sl_gpus.count; d++) {
                sl_gpu_request one = wants->gpu;
                one.count = 1;
                if (sl_gpus.owner[d] == (int)ct->id && (!one.model[0] || strcasecmp(one.model, sl_gpus.model[d]) == 0)) {
                    sl_log("%s: container %d is idle on GPU %d, which %s waits for: shutting it down",
                           ct->fn->info.name, ct->pid, d, wants->info.name);
                    ct->state = SL_CT_DRAINING;
                    sl_pool_send(ct, SL_FRAME_SHUTDOWN, 0, NULL, 0);
                    return;
                }
            }
        }
}

static void start_container(sl_function *fn)
{
    if (fn->removed)
        return; /* gone from the app: its last containers just drain */
    sl_container *ct = calloc(1, sizeof *ct);
    if (!ct) {
        sl_log("%s: out of memory starting a container", fn->info.name);
        return;
    }
    ct->id = g_next_container_id++;
    ct->fn = fn;
    ct->state = SL_CT_STARTING;
    sl_list_init(&ct->calls);
    sl_list_init(&ct->handles);
    sl_list_init(&ct->dirty_link);
    if (fn->gpu.count && sl_gpu_acquire(&sl_gpus, &fn->gpu, (int)ct->id, ct->gpus, sizeof ct->gpus) != 0) {
        free(ct); /* no free GPU now: the queue waits until one is released */
        reclaim_idle_gpu(fn);
        return;
    }
    int r = sl_zygote_spawn(ct->id, fn->index, ct->gpus);
    if (r) {
        sl_log("%s: cannot ask the zygote for a container: %s", fn->info.name, strerror(-r));
        sl_gpu_release(&sl_gpus, (int)ct->id);
        free(ct);
        return;
    }
    sl_list_push(&fn->containers, &ct->link);
    fn->ncontainers++;
    fn->nstarting++;
    fn->containers_started++;
}

static void maybe_free(sl_container *ct)
{
    if (ct->open_handles == 0 && ct->state == SL_CT_DEAD && !sl_list_linked(&ct->link)) {
        sl_buf_free(&ct->in);
        sl_buf_free(&ct->out);
        sl_buf_free(&ct->wout);
        free(ct);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_container *ct = h->data;
    ct->open_handles--;
    maybe_free(ct);
}

static void describe_exit(const sl_container *ct, char *buf, size_t n)
{
    if (ct->kill_reason)
        snprintf(buf, n, "container %d was killed: %s", ct->pid, ct->kill_reason);
    else if (!ct->exit_known)
        snprintf(buf, n, "container %d exited unexpectedly", ct->pid);
    else if (WIFSIGNALED(ct->exit_status))
        snprintf(buf, n, "container %d crashed: killed by signal %d (%s)", ct->pid, WTERMSIG(ct->exit_status),
                 strsignal(WTERMSIG(ct->exit_status)));
    else
        snprintf(buf, n, "container %d exited with status %d", ct->pid, WEXITSTATUS(ct->exit_status));
}

static int busy_containers(const sl_function *fn)
{
    int busy = 0;
    sl_list_each(it, (sl_list *)&fn->containers) busy += sl_container_of(it, sl_container, link)->inflight > 0;
    return busy;
}

/* Keeps min_containers alive, and while the function is busy,
 * buffer_containers idle ones beyond the busy ones. */
static void keep_warm(sl_function *fn)
{
    int want = fn->info.min_containers;
    if (fn->info.buffer_containers) {
        int busy = busy_containers(fn);
        if (busy || fn->nqueued)
            want = want > busy + fn->info.buffer_containers ? want : busy + fn->info.buffer_containers;
    }
    while (fn->ncontainers < want && fn->ncontainers < fn->info.max_containers) {
        int before = fn->ncontainers;
        start_container(fn);
        if (fn->ncontainers == before)
            break;
    }
}

/* A stream whose container died may run again if it has retries left and
 * nothing of it reached its client or caller. */
static bool may_retry(const sl_stream *s)
{
    return !s->cancelled && !s->delivered && s->attempts < s->fn->info.retries;
}

static void retry_later(sl_stream *s, const char *reason)
{
    double delay = RETRY_FIRST_DELAY;
    for (int i = 0; i < s->attempts && delay < RETRY_MAX_DELAY; i++)
        delay *= 2;
    if (delay > RETRY_MAX_DELAY)
        delay = RETRY_MAX_DELAY;
    s->attempts++;
    s->ct = NULL;
    free(s->head); /* the next attempt sends its own */
    s->head = NULL;
    s->retry_at = sl_now() + delay;
    sl_list_push(&g_retry, &s->link);
    s->fn->calls_retried++;
    sl_log("call %08x to %s: %s; retry %d of %d in %.1f s", s->call_id, s->fn->info.name, reason, s->attempts,
           s->fn->info.retries, delay);
}

static void retry_due(double now)
{
    sl_list_each(it, &g_retry)
    {
        sl_stream *s = sl_container_of(it, sl_stream, link);
        if (s->retry_at <= now) {
            sl_list_remove(&s->link);
            s->retry_at = 0;
            sl_pool_submit(s);
        }
    }
}

/* Containers of `fn` keep dying before they are ready: fail what waits. */
static void fail_queued(sl_function *fn, const char *reason)
{
    char why[320];
    snprintf(why, sizeof why, "containers of %s fail to start: %s", fn->info.name, reason);
    while (fn->nqueued) {
        sl_stream *s = sl_container_of(fn->queue.next, sl_stream, link);
        sl_list_remove(&s->link);
        fn->nqueued--;
        sl_stream_fail(s, why);
    }
}

/* Released GPUs may let another function's queued calls start. */
static void dispatch_all(void)
{
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        if (sl_functions[i].nqueued)
            dispatch(&sl_functions[i]);
}

/* The container is dead and we know why (or waited long enough): fail its
 * calls and forget it. */
static void finish_loss(sl_container *ct, bool expected)
{
    sl_function *fn = ct->fn;
    char reason[256];
    describe_exit(ct, reason, sizeof reason);
    if (!expected || !sl_list_empty(&ct->calls)) {
        fn->containers_lost++;
        sl_log("%s: %s (%d call%s in flight%s)", fn->info.name, reason, ct->inflight, ct->inflight == 1 ? "" : "s",
               ct->crashed_call ? "; one of them crashed it" : "");
    }
    sl_calls_caller_lost(ct);
    char bystander[320];
    snprintf(bystander, sizeof bystander, "%s while running another input", reason);
    while (!sl_list_empty(&ct->calls)) {
        sl_stream *s = sl_container_of(ct->calls.next, sl_stream, link);
        sl_list_remove(&s->link);
        /* When the crash names its call, the others did nothing wrong. */
        s->lost = ct->crashed_call && s->call_id != ct->crashed_call;
        if (ct->crashed_call && s->call_id == ct->crashed_call && s->is_batch)
            s->crashed_input = ct->crashed_input;
        if (may_retry(s))
            retry_later(s, s->lost ? bystander : reason);
        else
            sl_stream_fail(s, s->lost ? bystander : reason);
    }
    ct->inflight = 0;
    sl_list_remove(&ct->link);
    bool gpus_freed = ct->gpus[0] && sl_gpu_release(&sl_gpus, (int)ct->id) > 0;
    if (!ct->was_ready && !expected && ++fn->start_failures >= MAX_START_FAILURES) {
        fn->start_failures = 0;
        fail_queued(fn, reason);
    }
    if (ct->reap_timer_inited) {
        ct->reap_timer_inited = false;
        uv_close((uv_handle_t *)&ct->reap_timer, on_handle_closed);
    } else {
        maybe_free(ct);
    }
    keep_warm(fn);
    if (gpus_freed)
        dispatch_all();
    else
        dispatch(fn);
}

static void on_reap_timeout(uv_timer_t *t)
{
    sl_container *ct = t->data;
    finish_loss(ct, false);
}

/* The channel to the container is gone: it exited, crashed or broke the
 * protocol. Its calls fail once we know its exit status. */
static void container_lost(sl_container *ct)
{
    if (ct->state == SL_CT_DEAD)
        return;
    sl_function *fn = ct->fn;
    bool expected = ct->state == SL_CT_DRAINING && ct->inflight == 0;
    if (ct->state == SL_CT_STARTING)
        fn->nstarting--;
    ct->state = SL_CT_DEAD;
    fn->ncontainers--;
    if (sl_list_linked(&ct->dirty_link))
        sl_list_remove(&ct->dirty_link);
    if (ct->pipe_inited) {
        uv_read_stop((uv_stream_t *)&ct->pipe);
        uv_close((uv_handle_t *)&ct->pipe, on_handle_closed);
    }
    /* Wait for the exit status when someone will read the reason: calls in
     * flight, or a container that died starting (its queue may fail). */
    bool reason_wanted = ct->inflight > 0 || !ct->was_ready;
    if (expected || ct->exit_known || ct->kill_reason || !reason_wanted ||
        uv_timer_init(sl_loop, &ct->reap_timer) != 0) {
        finish_loss(ct, expected);
        return;
    }
    ct->open_handles++;
    ct->reap_timer_inited = true;
    ct->reap_timer.data = ct;
    uv_timer_start(&ct->reap_timer, on_reap_timeout, REAP_WAIT_MS, 0);
}

/* Kills the container; its EOF, which follows, fails its calls. Doing that
 * here instead would free streams under callers that are walking them. */
void sl_pool_kill(sl_container *ct, const char *why)
{
    if (ct->state == SL_CT_DEAD || ct->kill_reason)
        return;
    ct->kill_reason = why;
    ct->fn->containers_killed++;
    kill(ct->pid, SIGKILL);
}

static sl_container *find_container(uint32_t id, int pid)
{
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        sl_list_each(it, &sl_functions[i].containers)
        {
            sl_container *ct = sl_container_of(it, sl_container, link);
            if ((id && ct->id == id) || (pid && ct->pid == pid))
                return ct;
        }
    return NULL;
}

void sl_pool_on_exited(const sl_exit_info *e)
{
    sl_container *ct = find_container(0, (int)e->pid);
    if (!ct)
        return;
    ct->exit_known = true;
    ct->exit_status = (int)e->status;
    ct->crashed_call = e->crashed_call;
    ct->crashed_input = e->crashed_input;
    if (ct->state == SL_CT_DEAD && ct->reap_timer_inited) {
        uv_timer_stop(&ct->reap_timer);
        finish_loss(ct, false);
    }
}

void sl_pool_on_spawn_failed(uint32_t container_id, int err)
{
    sl_container *ct = find_container(container_id, 0);
    if (!ct || ct->state != SL_CT_STARTING)
        return;
    sl_log("%s: the zygote could not start a container: %s", ct->fn->info.name, strerror(-err));
    ct->kill_reason = "it could not be started";
    container_lost(ct);
}

void sl_pool_on_zygote_lost(void)
{
    static const char why[] = "the zygote died while starting it";
    /* Two passes: losing a container starts replacements (from the new
     * zygote), which must not be taken for lost ones. */
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        sl_list_each(it, &sl_functions[i].containers)
        {
            sl_container *ct = sl_container_of(it, sl_container, link);
            if (ct->state == SL_CT_STARTING && ct->pid == 0)
                ct->kill_reason = why;
        }
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        sl_list_each(it, &sl_functions[i].containers)
        {
            sl_container *ct = sl_container_of(it, sl_container, link);
            if (ct->kill_reason == why && ct->state == SL_CT_STARTING)
                container_lost(ct);
        }
}

/* ---- frames from a container ---- */

static int on_call_frame(sl_container *ct, const sl_frame *f)
{
    sl_stream *s = sl_stream_find(f->call_id);
    if (!s || s->ct != ct)
        return -EBADMSG;
    bool ends = f->type == SL_FRAME_RETURN || f->type == SL_FRAME_ERROR;
    if (ends) {
        sl_list_remove(&s->link);
        if (--ct->inflight == 0)
            ct->idle_since = sl_now();
    }
    int r = sl_stream_on_frame(s, f->type, f->flags, f->payload, f->len);
    if (ends)
        dispatch(ct->fn);
    return r;
}

static int on_frame(sl_container *ct, const sl_frame *f)
{
    switch (f->type) {
    case SL_FRAME_READY:
        if (ct->state == SL_CT_DRAINING && !ct->was_ready) {
            ct->was_ready = true; /* replaced by a reload while starting */
            return 0;
        }
        if (ct->state != SL_CT_STARTING)
            return -EBADMSG;
        ct->state = SL_CT_READY;
        ct->was_ready = true;
        ct->fn->start_failures = 0;
        ct->fn->nstarting--;
        ct->idle_since = sl_now();
        dispatch(ct->fn);
        return 0;
    case SL_FRAME_HEAD:
    case SL_FRAME_OUTPUT:
    case SL_FRAME_RETURN:
    case SL_FRAME_ERROR:
        return on_call_frame(ct, f);
    case SL_FRAME_CALL:
    case SL_FRAME_CALL_MAP:
    case SL_FRAME_CALL_CREDIT:
    case SL_FRAME_CALL_CANCEL:
    case SL_FRAME_CALL_PIPE:
        return ct->state == SL_CT_STARTING ? -EBADMSG
                                           : sl_calls_on_caller_frame(ct, f->type, f->call_id, f->payload, f->len);
    default:
        return -EBADMSG;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    sl_container *ct = h->data;
    if (sl_buf_reserve(&ct->in, 64 * 1024)) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)ct->in.data + ct->in.len, (unsigned)(ct->in.cap - ct->in.len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    sl_container *ct = stream->data;
    if (nread < 0) {
        if (nread != UV_EOF)
            sl_log("container %d: read: %s", ct->pid, uv_strerror((int)nread));
        container_lost(ct);
        return;
    }
    if (ct->kill_reason) {
        ct->in.len = 0; /* being killed: nothing it says counts now */
        return;
    }
    ct->in.len += (size_t)nread;
    size_t off = 0;
    sl_frame f;
    long k;
    while (ct->state != SL_CT_DEAD && (k = sl_frame_parse(ct->in.data + off, ct->in.len - off, &f)) > 0) {
        off += (size_t)k;
        int r = on_frame(ct, &f);
        if (r) {
            sl_log("%s: container %d sent a bad frame (type %u): %s", ct->fn->info.name, ct->pid, f.type,
                   strerror(-r));
            sl_pool_kill(ct, "it sent a malformed frame");
            return;
        }
    }
    if (ct->state == SL_CT_DEAD)
        return;
    if (k < 0) {
        sl_pool_kill(ct, "it sent a malformed frame");
        return;
    }
    sl_buf_consume(&ct->in, off);
}

static void on_write(uv_write_t *w, int status)
{
    sl_container *ct = w->data;
    ct->writing = false;
    ct->wout.len = 0;
    if (ct->state == SL_CT_DEAD)
        return;
    if (status < 0) {
        container_lost(ct);
        return;
    }
    if (ct->out.len)
        mark_dirty(ct);
}

void sl_pool_on_spawned(uint32_t container_id, int pid, int fd)
{
    sl_container *ct = find_container(container_id, 0);
    if (!ct || ct->state != SL_CT_STARTING || ct->pid) {
        close(fd); /* nobody wants it any more: it exits on EOF */
        return;
    }
    ct->pid = pid;
    ct->pipe.data = ct;
    int r = uv_pipe_init(sl_loop, &ct->pipe, 0);
    if (r) {
        close(fd);
    } else {
        ct->pipe_inited = true;
        ct->open_handles++;
        r = uv_pipe_open(&ct->pipe, fd);
        if (r)
            close(fd);
    }
    if (!r)
        r = uv_read_start((uv_stream_t *)&ct->pipe, on_alloc, on_read);
    if (r) {
        sl_log("%s: cannot watch container %d: %s", ct->fn->info.name, pid, uv_strerror(r));
        ct->kill_reason = "the server could not watch it";
        kill(pid, SIGKILL);
        container_lost(ct);
    }
}

/* ---- dispatch and autoscaling ---- */

/* The ready container with room and the fewest inputs in flight; but one
 * that already has frames waiting to go out in this loop iteration wins if
 * it is within max_inputs / 8 of that. A burst of calls on warm containers
 * was dealt one to each container in turn: a write, and a container woken,
 * per call, where one write could carry a dozen. With 100 warm containers,
 * a second burst of 10,000 of the seed's streams had a p99 lateness of 88
 * to 134 ms that way, and 22 to 53 ms this way (docs/bench.md). The slack
 * keeps compute-heavy inputs spread: no container gets more than
 * max_inputs / 8 above the least loaded. */
static sl_container *pick_container(sl_function *fn)
{
    sl_container *best = NULL, *best_dirty = NULL;
    sl_list_each(it, &fn->containers)
    {
        sl_container *ct = sl_container_of(it, sl_container, link);
        if (ct->state != SL_CT_READY || ct->kill_reason || ct->inflight >= fn->info.max_inputs)
            continue;
        if (!best || ct->inflight < best->inflight)
            best = ct;
        if (sl_list_linked(&ct->dirty_link) && (!best_dirty || ct->inflight < best_dirty->inflight))
            best_dirty = ct;
    }
    if (best_dirty && best_dirty->inflight - best->inflight <= fn->info.max_inputs / 8)
        return best_dirty;
    return best;
}

static void scale_up(sl_function *fn)
{
    size_t starting_capacity = (size_t)fn->nstarting * (size_t)fn->info.max_inputs;
    while (fn->nqueued > starting_capacity && fn->ncontainers < fn->info.max_containers) {
        int before = fn->ncontainers;
        start_container(fn);
        if (fn->ncontainers == before)
            return;
        starting_capacity += (size_t)fn->info.max_inputs;
    }
}

static void assign(sl_container *ct, sl_stream *s)
{
    g_scratch.len = 0;
    int r = sl_stream_encode_input(s, &g_scratch);
    if (!r)
        r = sl_frame_append(&ct->out, SL_FRAME_INPUT, s->call_id, g_scratch.data, g_scratch.len);
    if (r) {
        sl_stream_fail(s, r == -EMSGSIZE ? "the request is too large" : "server out of memory");
        return;
    }
    s->ct = ct;
    s->uncredited = 0; /* a new run: its container starts with no debt */
    s->run_at = sl_now();
    sl_list_push(&ct->calls, &s->link);
    ct->inflight++;
    mark_dirty(ct);
}

static void dispatch(sl_function *fn)
{
    while (fn->nqueued) {
        sl_container *ct = pick_container(fn);
        if (!ct) {
            scale_up(fn);
            break;
        }
        sl_stream *s = sl_container_of(fn->queue.next, sl_stream, link);
        sl_list_remove(&s->link);
        fn->nqueued--;
        assign(ct, s);
    }
    if (fn->info.buffer_containers)
        keep_warm(fn);
}

void sl_pool_submit(sl_stream *s)
{
    if (s->attempts)
        sl_list_push_front(&s->fn->queue, &s->link); /* a retry keeps its place */
    else
        sl_list_push(&s->fn->queue, &s->link);
    s->fn->nqueued++;
    dispatch(s->fn);
}

void sl_pool_unqueue(sl_stream *s)
{
    sl_list_remove(&s->link);
    if (s->retry_at > 0)
        s->retry_at = 0; /* it was waiting to retry, not in the queue */
    else
        s->fn->nqueued--;
}

/* Shuts down containers idle past scaledown_window, keeping min_containers
 * and, while the function is busy, buffer_containers idle ones. */
static void scale_down(sl_function *fn, double now)
{
    if (fn->nqueued)
        return;
    int ready = 0, idle = 0;
    sl_list_each(it, &fn->containers)
    {
        const sl_container *ct = sl_container_of(it, sl_container, link);
        ready += ct->state == SL_CT_READY;
        idle += ct->state == SL_CT_READY && ct->inflight == 0;
    }
    int keep_idle = idle < ready ? fn->info.buffer_containers : 0;
    sl_list_each(it, &fn->containers)
    {
        sl_container *ct = sl_container_of(it, sl_container, link);
        if (ready <= fn->info.min_containers || idle <= keep_idle)
            return;
        if (ct->state != SL_CT_READY || ct->inflight || now - ct->idle_since < fn->info.scaledown_window)
            continue;
        ct->state = SL_CT_DRAINING; /* takes no more inputs; EOF follows its exit */
        sl_pool_send(ct, SL_FRAME_SHUTDOWN, 0, NULL, 0);
        ready--;
        idle--;
    }
}

void sl_pool_sweep(void)
{
    double now = sl_now();
    retry_due(now);
    for (uint32_t i = 0; i < sl_nfunctions; i++) {
        scale_down(&sl_functions[i], now);
        keep_warm(&sl_functions[i]);
    }
}

/* ---- reloads ---- */

int sl_pool_reload(sl_functable *t)
{
    int r = apply_table(t);
    if (r)
        return r;
    /* Every container runs the old build: new inputs go to new containers,
     * old ones finish what they have and exit. Those the old zygote has
     * not started yet never will be. */
    for (uint32_t i = 0; i < sl_nfunctions; i++) {
        sl_function *fn = &sl_functions[i];
        sl_list_each(it, &fn->containers)
        {
            sl_container *ct = sl_container_of(it, sl_container, link);
            if (ct->state == SL_CT_STARTING && ct->pid == 0) {
                ct->kill_reason = "replaced by a reload before it started";
                container_lost(ct);
            } else if (ct->state == SL_CT_STARTING || ct->state == SL_CT_READY) {
                if (ct->state == SL_CT_STARTING)
                    fn->nstarting--;
                ct->state = SL_CT_DRAINING;
                sl_pool_send(ct, SL_FRAME_SHUTDOWN, 0, NULL, 0);
            }
        }
    }
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        if (sl_functions[i].removed)
            fail_queued(&sl_functions[i], "the function is gone since the last reload");
    dispatch_all();
    return 0;
}
