/*
 * handles.c: calls a function makes to other functions (sl_spawn and what
 * is built on it). Everything here is under the runtime's output lock, and
 * a waiting sl_next sleeps on its owner's condition variable, so that the
 * owner's cancellation wakes it like any sleep.
 *
 * Outputs arrive from the server as CALL_OUTPUT frames and queue on the
 * handle; sl_next takes one at a time and credits the previous one back
 * (CALL_CREDIT), so a callee runs at most a window ahead of its caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"
#include "proto/frame.h"

/* Open handles: by id in a hash table (frames name them), and per owning
 * call in a list (its end frees them). Maps have id 0 and are not hashed. */
#define BUCKETS 4096u
static struct sl_handle *g_buckets[BUCKETS];
static uint32_t g_next_id = 1;

static struct sl_handle *find_locked(uint32_t id)
{
    for (struct sl_handle *h = g_buckets[id % BUCKETS]; h; h = h->hnext)
        if (h->id == id)
            return h;
    return NULL;
}

static void link_locked(struct sl_handle *h)
{
    struct sl_call *c = h->owner;
    h->prev = NULL;
    h->next = c->handles;
    if (c->handles)
        c->handles->prev = h;
    c->handles = h;
    if (h->id) {
        h->hnext = g_buckets[h->id % BUCKETS];
        g_buckets[h->id % BUCKETS] = h;
    }
}

static void unlink_locked(struct sl_handle *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else if (h->owner->handles == h)
        h->owner->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
    if (h->id)
        for (struct sl_handle **p = &g_buckets[h->id % BUCKETS]; *p; p = &(*p)->hnext)
            if (*p == h) {
                *p = h->hnext;
                break;
            }
}

/* Callers to wake once the reader has handled everything it read: one
 * wake-up per batch of results, not one per result. */
static struct sl_call **g_wake;
static size_t g_nwake, g_wake_cap;

static void wake_later_locked(struct sl_call *c)
{
    if (c->wake_pending)
        return;
    if (g_nwake == g_wake_cap) {
        size_t cap = g_wake_cap ? g_wake_cap * 2 : 64;
        struct sl_call **w = realloc(g_wake, cap * sizeof *w);
        if (!w) {
            sl_rt_wake_locked(c); /* no room to defer: wake now */
            return;
        }
        g_wake = w;
        g_wake_cap = cap;
    }
    c->wake_pending = true;
    g_wake[g_nwake++] = c;
}

void sl_handles_credit_locked(struct sl_handle *h, size_t bytes)
{
    if (!bytes || h->done || h->cancelled)
        return;
    uint8_t p[SL_CREDIT_SIZE];
    sl_credit_encode(p, (uint32_t)bytes);
    sl_rt_append_locked(SL_FRAME_CALL_CREDIT, h->id, p, sizeof p);
}

/* Drops the item the caller last took, crediting its bytes. */
static void drop_taken_locked(struct sl_handle *h)
{
    if (!h->taken)
        return;
    sl_handles_credit_locked(h, h->taken->len);
    free(h->taken);
    h->taken = NULL;
}

void sl_handles_free(struct sl_handle *h)
{
    if (h->map)
        sl_map_free(h->map);
    free(h->taken);
    for (sl_item *it = h->head, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    free(h->error);
    free(h->ret);
    free(h);
}

static void finish_locked(struct sl_handle *h, bool failed, const char *msg, size_t len)
{
    h->done = true;
    h->failed = failed;
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, msg, len);
        copy[len] = '\0';
    }
    if (failed) {
        h->error = copy ? copy : NULL;
    } else {
        h->ret = copy;
        h->ret_len = copy ? len : 0;
    }
}

static void push_item_locked(struct sl_handle *h, sl_item *it)
{
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
}

/* A batch call's frame goes, as it is, to its map's list, which map.c
 * reads in order. Its end ends the batch call here too. */
static void queue_for_map_locked(struct sl_handle *h, uint8_t type, const uint8_t *p, size_t len)
{
    struct sl_handle *map = h->map_parent;
    if (type != SL_FRAME_CALL_OUTPUT)
        h->done = true;
    sl_item *it = malloc(sizeof *it + len);
    if (!it) {
        map->done = map->failed = true; /* sl_next reports the map failed */
        wake_later_locked(map->owner);
        return;
    }
    it->next = NULL;
    it->from = h;
    it->type = type;
    it->len = len;
    if (len)
        memcpy(it->data, p, len);
    push_item_locked(map, it);
    wake_later_locked(map->owner);
}

void sl_handles_on_frame(uint8_t type, uint8_t flags, uint32_t id, const uint8_t *p, size_t len)
{
    sl_rt_lock();
    struct sl_handle *h = find_locked(id);
    if (!h || h->done || h->cancelled) {
        sl_rt_unlock(); /* closed or cancelled here: the server drops the rest */
        return;
    }
    if (h->map_parent) {
        queue_for_map_locked(h, type, p, len);
        sl_rt_unlock();
        return;
    }
    if (type == SL_FRAME_CALL_OUTPUT) {
        sl_item *it = malloc(sizeof *it + len);
        if (!it) {
            finish_locked(h, true, "out of memory receiving an output", 33);
        } else {
            it->next = NULL;
            it->from = h;
            it->type = type;
            it->len = len;
            it->flags = flags;
            memcpy(it->data, p, len);
            push_item_locked(h, it);
        }
    } else {
        const char *why = (const char *)p;
        size_t why_len = len;
        uint32_t input;
        if (type == SL_FRAME_CALL_CRASHED && sl_crashed_decode(p, len, &input, &why, &why_len))
            why = "the callee crashed", why_len = strlen(why);
        finish_locked(h, type != SL_FRAME_CALL_RETURN, why, why_len);
        h->ret_flags = flags;
    }
    wake_later_locked(h->owner);
    sl_rt_unlock();
}

void sl_handles_wake(void)
{
    sl_rt_lock();
    for (size_t i = 0; i < g_nwake; i++) {
        g_wake[i]->wake_pending = false;
        sl_rt_wake_locked(g_wake[i]);
    }
    g_nwake = 0;
    sl_rt_unlock();
}

void sl_handles_release_locked(struct sl_call *c)
{
    if (c->wake_pending) /* the call ends before the reader's wake: forget it */
        for (size_t i = 0; i < g_nwake; i++)
            if (g_wake[i] == c) {
                g_wake[i] = g_wake[--g_nwake];
                c->wake_pending = false;
                break;
            }
    while (c->handles) {
        struct sl_handle *h = c->handles;
        unlink_locked(h);
        sl_handles_free(h);
    }
}

/* ---- the API ---- */

static struct sl_handle *start(sl_call *c, const char *fn, const void *body, size_t len, struct sl_handle *map,
                               bool flush)
{
    if (!c || !fn || (!body && len) || len > SL_MAX_MESSAGE)
        return NULL;
    struct sl_handle *h = calloc(1, sizeof *h);
    sl_buf payload = {0};
    sl_callreq req = {c->id, fn, body, (uint32_t)len};
    if (!h || sl_callreq_encode(&payload, &req)) {
        free(h);
        sl_buf_free(&payload);
        return NULL;
    }
    h->owner = c;
    h->map_parent = map;
    sl_rt_lock();
    h->id = g_next_id++;
    if (h->id == 0)
        h->id = g_next_id++; /* wrapped: 0 names no handle */
    link_locked(h);
    if (c->cancelled)
        h->cancelled = true; /* nothing to start: the caller is already cancelled */
    else
        sl_rt_append_locked(map ? SL_FRAME_CALL_MAP : SL_FRAME_CALL, h->id, payload.data, payload.len);
    if (flush)
        sl_rt_unlock_flush();
    else
        sl_rt_unlock();
    sl_buf_free(&payload);
    return h;
}

void sl_handles_adopt(struct sl_handle *h)
{
    sl_rt_lock();
    link_locked(h);
    sl_rt_unlock();
}

struct sl_handle *sl_handles_start_batch(struct sl_handle *map, const char *fn, const void *body, size_t len)
{
    return start(map->owner, fn, body, len, map, false);
}

sl_handle *sl_spawn(sl_call *c, const char *fn, const void *arg, size_t len)
{
    return start(c, fn, arg, len, NULL, true); /* the caller waits next: write now */
}

/* Waits (lock held) until the handle has an output or has ended. */
static int wait_locked(struct sl_handle *h, double timeout)
{
    struct timespec deadline;
    if (timeout >= 0)
        sl_rt_deadline(timeout, &deadline);
    for (;;) {
        if (h->cancelled || h->owner->cancelled)
            return SL_ECANCELED;
        if (h->head || h->done)
            return 0;
        if (sl_rt_wait_locked(h->owner, timeout >= 0 ? &deadline : NULL) == SL_ETIMEDOUT && !h->head && !h->done)
            return SL_ETIMEDOUT;
    }
}

int sl_next(sl_handle *h, const void **data, size_t *len, double timeout)
{
    if (!h)
        return SL_EINVAL;
    if (h->map)
        return sl_map_next(h, data, len, timeout);
    sl_rt_lock();
    drop_taken_locked(h);
    int r = wait_locked(h, timeout);
    if (r == 0 && h->head) {
        h->taken = h->head;
        h->head = h->head->next;
        if (!h->head)
            h->tail = NULL;
        if (data)
            *data = h->taken->data;
        if (len)
            *len = h->taken->len;
        r = 1;
    } else if (r == 0) {
        r = h->failed ? SL_EFAILED : 0;
    }
    sl_rt_unlock();
    return r;
}

int sl_wait(sl_handle *h, const void **data, size_t *len, double timeout)
{
    int r;
    while ((r = sl_next(h, NULL, NULL, timeout)) == 1)
        ; /* outputs are passed over (and credited) */
    if (r == 0) {
        if (data)
            *data = h->ret ? h->ret : "";
        if (len)
            *len = h->ret_len;
    }
    return r;
}

int sl_cancel(sl_handle *h)
{
    if (!h)
        return SL_EINVAL;
    sl_rt_lock();
    if (h->map) {
        h->cancelled = true; /* sl_close or the caller's end stops its inputs */
    } else if (!h->done && !h->cancelled) {
        h->cancelled = true;
        sl_rt_append_locked(SL_FRAME_CALL_CANCEL, h->id, NULL, 0);
    }
    sl_rt_unlock();
    return 0;
}

const char *sl_handle_error(const sl_handle *h)
{
    return h && h->failed ? (h->error ? h->error : "the call failed") : NULL;
}

void sl_handles_close_locked(struct sl_handle *h)
{
    if (!h->map && !h->done && !h->cancelled)
        sl_rt_append_locked(SL_FRAME_CALL_CANCEL, h->id, NULL, 0);
    unlink_locked(h);
    sl_handles_free(h);
}

void sl_close(sl_handle *h)
{
    if (!h)
        return;
    if (h->map)
        sl_map_close(h); /* closes the batches still in flight */
    sl_rt_lock();
    sl_handles_close_locked(h);
    sl_rt_unlock();
}

int sl_remote(sl_call *c, const char *fn, const void *arg, size_t len, const void **out, size_t *out_len)
{
    sl_handle *h = sl_spawn(c, fn, arg, len);
    if (!h)
        return SL_ENOMEM;
    const void *v;
    size_t n;
    int r = sl_wait(h, &v, &n, SL_FOREVER);
    if (r == 0 && out) {
        void *copy = malloc(n + 1);
        if (!copy || sl_rt_keep(c, copy)) {
            r = SL_ENOMEM;
        } else {
            memcpy(copy, v, n);
            ((char *)copy)[n] = '\0';
            *out = copy;
            if (out_len)
                *out_len = n;
        }
    } else if (r == SL_EFAILED) {
        sl_fail(c, "%s failed: %s", fn, sl_handle_error(h));
    }
    sl_close(h);
    return r;
}

/* sl_respond's relay of one output (the one sl_next just took) or of the
 * return value: typed if the callee's was, so its client still sees JSON. */
static int relay_output(sl_call *c, const sl_handle *h, const void *d, size_t n)
{
    uint8_t flags = h->map ? sl_map_result_flags(h) : h->taken ? h->taken->flags : 0;
    return flags ? sl_rt_yield_flags(c, flags, d, n) : sl_yield(c, d, n);
}

/* The callee's return value is ours: the same thing the server does when
 * it splices the callee into our response (CALL_PIPE), so a caller sees one
 * result whichever path the outputs took. */
static int relay_return(sl_call *c, const sl_handle *h)
{
    int r = sl_return(c, h->ret, h->ret_len);
    if (!r)
        c->ret_flags = h->ret_flags;
    return r;
}

/* For an HTTP client, outputs that are ready together are yielded
 * together, up to this much: it gets the same bytes at the same moment,
 * in fewer frames. (A caller, or the call API, sees each output apart,
 * typed or not.) */
#define RELAY_CHUNK (64u * 1024u)

/* Yields each output of h as it arrives (sl_respond). Returns sl_next's
 * last result. */
static int relay_outputs(sl_call *c, sl_handle *h)
{
    bool join = strcmp(c->req->method, "CALL") != 0; /* an HTTP request's byte stream */
    sl_buf pending = {0};
    const void *d;
    size_t n;
    int r;
    for (;;) {
        r = sl_next(h, &d, &n, pending.len ? 0 : SL_FOREVER);
        if (r == 1 && join && pending.len + n <= RELAY_CHUNK && !sl_buf_append(&pending, d, n))
            continue;
        if (pending.len) {
            if (sl_yield(c, pending.data, pending.len) < 0) {
                r = SL_ECANCELED; /* our client left: sl_close cancels the callee */
                break;
            }
            pending.len = 0;
        }
        if (r == SL_ETIMEDOUT)
            continue; /* nothing more ready: what was is out */
        if (r != 1)
            break;
        if (relay_output(c, h, d, n) < 0) {
            r = SL_ECANCELED;
            break;
        }
    }
    sl_buf_free(&pending);
    return r;
}

int sl_respond(sl_call *c, sl_handle *h)
{
    if (!h)
        return SL_ENOMEM;
    /* Ask the server to splice the callee's outputs straight into our
     * response, saving them a trip through this container. It does so only
     * if none has come our way yet (order is kept either way); whatever
     * does come here is relayed below. */
    sl_rt_lock();
    if (!h->map && !h->done && !h->cancelled && !h->head && !h->taken)
        sl_rt_append_locked(SL_FRAME_CALL_PIPE, h->id, NULL, 0);
    sl_rt_unlock();
    int r = relay_outputs(c, h);
    if (r == 0 && h->ret_len)
        r = relay_return(c, h);
    else if (r == SL_EFAILED)
        r = sl_fail(c, "%s", sl_handle_error(h));
    else if (r == SL_ECANCELED || r == 1)
        r = 0; /* cancelled: nobody is listening for a result */
    sl_close(h);
    return r;
}

static bool ready_locked(struct sl_handle *h)
{
    if (h->map)
        return sl_map_ready_locked(h);
    return h->head || h->done || h->cancelled;
}

int sl_select(sl_handle *const *hs, int n, double timeout)
{
    struct sl_call *owner = NULL;
    for (int i = 0; hs && i < n && !owner; i++)
        if (hs[i])
            owner = hs[i]->owner; /* NULL entries (closed handles) are skipped */
    if (!owner)
        return SL_EINVAL;
    struct timespec deadline;
    if (timeout >= 0)
        sl_rt_deadline(timeout, &deadline);
    sl_rt_lock();
    int r = SL_ETIMEDOUT;
    for (;;) {
        for (int i = 0; i < n; i++)
            if (hs[i] && ready_locked(hs[i])) {
                r = i;
                goto out;
            }
        if (owner->cancelled) {
            r = SL_ECANCELED;
            break;
        }
        if (sl_rt_wait_locked(owner, timeout >= 0 ? &deadline : NULL) == SL_ETIMEDOUT)
            timeout = 0; /* one last look, then give up */
        else
            continue;
        for (int i = 0; i < n; i++)
            if (hs[i] && ready_locked(hs[i])) {
                r = i;
                goto out;
            }
        r = SL_ETIMEDOUT;
        break;
    }
out:
    sl_rt_unlock();
    return r;
}
