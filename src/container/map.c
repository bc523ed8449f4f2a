/*
 * map.c: sl_map, a handle over many calls of one function.
 *
 * The map keeps up to `window` inputs in flight as child handles, in input
 * order, and starts more as results are taken; a result is a child's return
 * value. Ordered maps hand out the oldest child's result when it is done;
 * unordered ones whichever child is done first. Children are plain calls
 * through the server, so they spread over the function's autoscaled
 * containers, and cancelling the caller cancels them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"

#define DEFAULT_WINDOW 256
#define MAX_WINDOW 100000

enum { INPUTS_RANGE = 1, INPUTS_ITEMS = 2 };

struct sl_map {
    char *fn;                  /* owned */
    sl_inputs in;
    size_t n, next;            /* inputs in all, and the next to start */
    sl_map_opts opts;
    struct sl_handle **flight; /* children in flight, oldest first */
    int nflight;
    struct sl_handle *current; /* the child whose result sl_next returned last */
};

sl_inputs sl_range(long long start, long long stop)
{
    sl_inputs in = {.kind = INPUTS_RANGE, .start = start, .stop = stop < start ? start : stop};
    return in;
}

sl_inputs sl_items(const void *const *items, const size_t *lens, size_t n)
{
    sl_inputs in = {.kind = INPUTS_ITEMS, .items = items, .lens = lens, .n = items && lens ? n : 0};
    return in;
}

static int fill_window(struct sl_handle *h);

void sl_map_free(struct sl_map *m)
{
    free(m->fn);
    free(m->flight);
    free(m);
}

sl_handle *sl_map(sl_call *c, const char *fn, sl_inputs in, const sl_map_opts *opts)
{
    if (!c || !fn || (in.kind != INPUTS_RANGE && in.kind != INPUTS_ITEMS))
        return NULL;
    struct sl_map *m = calloc(1, sizeof *m);
    struct sl_handle *h = calloc(1, sizeof *h);
    if (!m || !h || !(m->fn = strdup(fn))) {
        free(m);
        free(h);
        return NULL;
    }
    m->in = in;
    m->n = in.kind == INPUTS_RANGE ? (size_t)(in.stop - in.start) : in.n;
    if (opts)
        m->opts = *opts;
    if (m->opts.window <= 0)
        m->opts.window = DEFAULT_WINDOW;
    if (m->opts.window > MAX_WINDOW)
        m->opts.window = MAX_WINDOW;
    m->flight = calloc((size_t)m->opts.window, sizeof *m->flight);
    if (!m->flight) {
        sl_map_free(m);
        free(h);
        return NULL;
    }
    h->owner = c;
    h->map = m;
    sl_handles_adopt(h); /* id 0: no frame names it, but the call's end frees it */
    if (fill_window(h))  /* start now: sl_select may wait on it before any sl_next */
        h->cancelled = true;
    return h;
}

/* Starts input m->next. 0 or SL_ENOMEM. */
static int start_input(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    const void *body;
    size_t len;
    void *encoded = NULL;
    if (m->in.kind == INPUTS_RANGE) {
        int r = sl_args_encode_int(m->in.start + (long long)m->next, &encoded, &len);
        if (r)
            return r;
        body = encoded;
    } else {
        body = m->in.items[m->next];
        len = m->in.lens[m->next];
    }
    struct sl_handle *child = sl_handles_start(h->owner, m->fn, body, len, true);
    free(encoded);
    if (!child)
        return SL_ENOMEM;
    child->input_index = m->next++;
    m->flight[m->nflight++] = child;
    return 0;
}

static int fill_window(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    while (m->nflight < m->opts.window && m->next < m->n) {
        int r = start_input(h);
        if (r)
            return r;
    }
    return 0;
}

/* The child whose result is next (lock held), or -1. */
static int ready_child_locked(const struct sl_map *m)
{
    if (!m->opts.unordered)
        return m->nflight && m->flight[0]->done ? 0 : -1;
    for (int i = 0; i < m->nflight; i++)
        if (m->flight[i]->done)
            return i;
    return -1;
}

bool sl_map_ready_locked(struct sl_handle *h)
{
    const struct sl_map *m = h->map;
    return h->done || h->cancelled || (m->nflight == 0 && m->next == m->n) || ready_child_locked(m) >= 0;
}

static void close_child(struct sl_handle **slot)
{
    if (*slot) {
        sl_close(*slot);
        *slot = NULL;
    }
}

static void close_flight(struct sl_map *m)
{
    for (int i = 0; i < m->nflight; i++)
        close_child(&m->flight[i]);
    m->nflight = 0;
}

/* Ends the map with the failure of `child` (it stays `current`). */
static int fail_map(struct sl_handle *h, struct sl_handle *child)
{
    struct sl_map *m = h->map;
    char *msg = NULL;
    const char *why = sl_handle_error(child);
    size_t n = strlen(why) + strlen(m->fn) + 64;
    if ((msg = malloc(n)))
        snprintf(msg, n, "%s input %zu failed: %s", m->fn, child->input_index, why);
    free(h->error);
    h->error = msg;
    h->failed = true;
    if (!m->opts.return_exceptions) {
        h->done = true;
        close_flight(m); /* fail fast: cancel the rest */
    }
    return SL_EFAILED;
}

int sl_map_next(struct sl_handle *h, const void **data, size_t *len, double timeout)
{
    struct sl_map *m = h->map;
    close_child(&m->current);
    if (h->done)
        return h->failed ? SL_EFAILED : 0;
    h->failed = false;
    if (fill_window(h))
        return SL_ENOMEM;
    if (m->nflight == 0) {
        h->done = true;
        return 0;
    }
    struct timespec deadline;
    if (timeout >= 0)
        sl_rt_deadline(timeout, &deadline);
    sl_rt_lock();
    int k;
    while ((k = ready_child_locked(m)) < 0) {
        if (h->cancelled || h->owner->cancelled) {
            sl_rt_unlock();
            return SL_ECANCELED;
        }
        if (sl_rt_wait_locked(h->owner, timeout >= 0 ? &deadline : NULL) == SL_ETIMEDOUT &&
            (k = ready_child_locked(m)) < 0) {
            sl_rt_unlock();
            return SL_ETIMEDOUT;
        }
    }
    struct sl_handle *child = m->flight[k];
    memmove(m->flight + k, m->flight + k + 1, (size_t)(m->nflight - k - 1) * sizeof *m->flight);
    m->nflight--;
    sl_rt_unlock();
    m->current = child;
    if (child->failed)
        return fail_map(h, child);
    fill_window(h); /* keep the window full while the caller works */
    if (data)
        *data = child->ret ? child->ret : "";
    if (len)
        *len = child->ret_len;
    return 1;
}

void sl_map_close(struct sl_handle *h)
{
    close_child(&h->map->current);
    close_flight(h->map);
}

int sl_for_each(sl_call *c, const char *fn, sl_inputs inputs)
{
    sl_handle *m = sl_map(c, fn, inputs, &(sl_map_opts){.unordered = true});
    if (!m)
        return SL_ENOMEM;
    int r;
    while ((r = sl_next(m, NULL, NULL, SL_FOREVER)) == 1)
        ;
    if (r == SL_EFAILED)
        sl_fail(c, "%s", sl_handle_error(m));
    sl_close(m);
    return r;
}

uint8_t sl_map_result_flags(const struct sl_handle *h)
{
    const struct sl_handle *child = h->map->current;
    return child ? child->ret_flags : 0;
}
