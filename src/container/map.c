/*
 * map.c: sl_map, one function run over many inputs, results streamed back.
 *
 * Inputs go out in batches (proto/batch.h): each batch is one CALL_MAP
 * call through the server, so batches spread over the callee's autoscaled
 * containers and cancel with their caller, and each runs its inputs in
 * turn on one thread, sending each result as a record when it is ready.
 * Every frame of every batch lands, in arrival order, on the map handle's
 * item list (handles.c); the map's own thread reads them from there.
 *
 * Batch size follows how long inputs take (each record says): about
 * BATCH_TARGET_NS of work per batch, so slow inputs go one per batch and
 * run `window` at once, while trivial ones go a thousand at a time and
 * cost a few frames per thousand results instead of four frames and two
 * thread wake-ups each.
 *
 * Results wait in a ring of `span` slots: by input index for an ordered
 * map (so it starts input i only once i - base < span - 1), in arrival
 * order for an unordered one. The slot sl_next handed out last is kept
 * until the next sl_next, so its bytes stay valid.
 *
 * A batch that fails as a whole (its container died, it timed out) has
 * its unfinished inputs sent again: the first of them, which was running,
 * alone, the others in new batches, so one crashing input costs only its
 * own result. A batch of one input that fails is that input's failure.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"
#include "proto/batch.h"
#include "proto/frame.h"

#define DEFAULT_WINDOW 256
#define MAX_WINDOW 100000
#define MIN_SPAN 8192             /* results held plus inputs in flight */
#define MAX_BATCH 1024            /* inputs per batch */
#define BATCH_TARGET_NS 500000.0  /* work per batch once input times are known */
#define MAX_BATCH_TRIES 2         /* batch failures before inputs go alone */
#define MAX_LOSSES 8              /* runs lost to other inputs' crashes */

enum { INPUTS_RANGE = 1, INPUTS_ITEMS, INPUTS_SOURCE, INPUTS_HANDLE };
enum { SLOT_EMPTY, SLOT_OK, SLOT_FAILED };

typedef struct slot {
    uint8_t state;
    bool typed;    /* the value is one msgpack value (sl_return_value) */
    size_t index;  /* the input it is the result of */
    size_t len, cap;
    char *data;    /* owned: the return value, or the failure reason */
} slot;

/* Inputs waiting to be sent again after their batch failed. */
typedef struct retry {
    struct retry *next;
    size_t index;
    int tries;     /* batch failures so far */
    int losses;    /* runs lost to another input's crash */
    bool alone;    /* goes in a batch of its own */
    uint32_t len;
    unsigned char data[];
} retry;

/* One batch in flight: what it carries, kept to send again if it fails. */
struct sl_batch {
    struct sl_handle *h;  /* the call running it */
    uint32_t n, ngot;
    int tries, losses;
    size_t *index;        /* owned: input index by position */
    uint32_t *off;        /* owned: each input's offset in payload */
    uint8_t *got;         /* owned: which results came */
    sl_buf payload;       /* owned: the CALL_MAP argument */
    struct sl_batch *prev, *next;
};

struct sl_map {
    char *fn;             /* owned */
    sl_inputs in;
    sl_map_opts opts;
    bool inputs_done;     /* the source is exhausted */
    bool source_dry;      /* sl_outputs had nothing ready: wait for a wake */
    size_t next;          /* index of the next new input */
    size_t base;          /* ordered: the next index to hand out */
    size_t held;          /* unordered: results waiting in the ring */
    size_t head;          /* unordered: ring position of the oldest */
    size_t inflight;      /* inputs sent, result not yet back */
    int nbatches;
    struct sl_batch *batches; /* in flight */
    retry *retry_head, **retry_tail;
    size_t nretry;
    size_t span, mask;    /* ring size (a power of two) and span - 1 */
    slot *ring;           /* owned */
    slot *current;        /* handed out by the last sl_next */
    double item_ns;       /* running mean of input run time; 0: unknown */
    sl_buf scratch;       /* one encoded input */
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

sl_inputs sl_source(sl_next_input_fn next, void *ud)
{
    sl_inputs in = {.kind = INPUTS_SOURCE, .next = next, .ud = ud};
    return in;
}

sl_inputs sl_outputs(sl_handle *h)
{
    sl_inputs in = {.kind = INPUTS_HANDLE, .from = h};
    return in;
}

/* ---- lifetime ---- */

static void free_batch(struct sl_batch *b)
{
    free(b->index);
    free(b->off);
    free(b->got);
    sl_buf_free(&b->payload);
    free(b);
}

static void unlink_batch(struct sl_map *m, struct sl_batch *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        m->batches = b->next;
    if (b->next)
        b->next->prev = b->prev;
    m->nbatches--;
    m->inflight -= b->n - b->ngot;
}

static void free_retries(struct sl_map *m)
{
    for (retry *r = m->retry_head, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    m->retry_head = NULL;
    m->retry_tail = &m->retry_head;
    m->nretry = 0;
}

/* Frees the map's own memory; its batch calls are handles of the caller
 * and go with them. */
void sl_map_free(struct sl_map *m)
{
    while (m->batches) {
        struct sl_batch *b = m->batches;
        unlink_batch(m, b);
        free_batch(b);
    }
    free_retries(m);
    for (size_t i = 0; m->ring && i < m->span; i++)
        free(m->ring[i].data);
    free(m->ring);
    sl_buf_free(&m->scratch);
    free(m->fn);
    free(m);
}

static size_t span_for(int window)
{
    size_t want = (size_t)window > MIN_SPAN ? (size_t)window + 1 : MIN_SPAN;
    size_t span = 1;
    while (span < want)
        span <<= 1;
    return span;
}

static struct sl_map *map_new(const char *fn, sl_inputs in, const sl_map_opts *opts)
{
    struct sl_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->in = in;
    if (opts)
        m->opts = *opts;
    if (m->opts.window <= 0)
        m->opts.window = DEFAULT_WINDOW;
    if (m->opts.window > MAX_WINDOW)
        m->opts.window = MAX_WINDOW;
    m->span = span_for(m->opts.window);
    m->mask = m->span - 1;
    m->retry_tail = &m->retry_head;
    m->fn = strdup(fn);
    m->ring = calloc(m->span, sizeof *m->ring);
    if (!m->fn || !m->ring) {
        sl_map_free(m);
        return NULL;
    }
    return m;
}

static int fill(struct sl_handle *h);
static int fill_or_fail(struct sl_handle *h);

sl_handle *sl_map(sl_call *c, const char *fn, sl_inputs in, const sl_map_opts *opts)
{
    if (!c || !fn || in.kind < INPUTS_RANGE || in.kind > INPUTS_HANDLE || (in.kind == INPUTS_SOURCE && !in.next) ||
        (in.kind == INPUTS_HANDLE && !in.from))
        return NULL;
    struct sl_handle *h = calloc(1, sizeof *h);
    struct sl_map *m = h ? map_new(fn, in, opts) : NULL;
    if (!m) {
        free(h);
        return NULL;
    }
    h->owner = c;
    h->map = m;
    sl_handles_adopt(h); /* id 0: no frame names it, but the call's end frees it */
    fill_or_fail(h); /* start now: sl_select may wait on it before any sl_next */
    return h;
}

/* ---- inputs ---- */

static int pack_to_buf(void *buf, const char *p, size_t len)
{
    return sl_buf_append(buf, p, len);
}

/* Packs [v] (a typed argument list of one integer) into m->scratch. */
static int encode_int(struct sl_map *m, long long v)
{
    msgpack_packer pk;
    m->scratch.len = 0;
    msgpack_packer_init(&pk, &m->scratch, pack_to_buf);
    return msgpack_pack_array(&pk, 1) || msgpack_pack_long_long(&pk, v) ? SL_ENOMEM : 0;
}

/* The next new input's bytes: 1 and *p, *len; 0 when there are none now
 * (m->inputs_done says whether ever); or a negative code. `may_block`
 * lets a handle source wait for its next output. */
static int pull_input(struct sl_map *m, bool may_block, const void **p, size_t *len)
{
    int r;
    switch (m->in.kind) {
    case INPUTS_RANGE:
        if (m->in.start + (long long)m->next >= m->in.stop)
            break;
        if ((r = encode_int(m, m->in.start + (long long)m->next)) < 0)
            return r;
        *p = m->scratch.data;
        *len = m->scratch.len;
        return 1;
    case INPUTS_ITEMS:
        if (m->next >= m->in.n)
            break;
        *p = m->in.items[m->next];
        *len = m->in.lens[m->next];
        return 1;
    case INPUTS_SOURCE:
        if ((r = m->in.next(m->in.ud, p, len)) != 0)
            return r > 0 ? 1 : r;
        break;
    case INPUTS_HANDLE:
        r = sl_next(m->in.from, p, len, may_block ? SL_FOREVER : 0);
        if (r == SL_ETIMEDOUT) {
            m->source_dry = true;
            return 0;
        }
        if (r != 0)
            return r;
        break;
    }
    m->inputs_done = true;
    return 0;
}

/* Room for another new input: in flight plus held results under the
 * span, keeping the slot sl_next handed out last. (Inputs to run again
 * already have their room.) */
static bool has_room(const struct sl_map *m)
{
    if (m->nbatches >= m->opts.window)
        return false;
    if (!m->opts.unordered)
        return m->next - m->base < m->span - 1 && m->inflight + m->nretry < m->span - 1;
    return m->held + m->inflight + m->nretry < m->span - 1;
}

static size_t batch_size(const struct sl_map *m)
{
    if (m->item_ns <= 0)
        return 1; /* nothing measured yet: assume inputs are slow */
    double n = BATCH_TARGET_NS / m->item_ns;
    return n < 1 ? 1 : n > MAX_BATCH ? MAX_BATCH : (size_t)n;
}

static struct sl_batch *batch_new(size_t cap)
{
    struct sl_batch *b = calloc(1, sizeof *b);
    if (b && (!(b->index = malloc(cap * sizeof *b->index)) || !(b->off = malloc(cap * sizeof *b->off)) ||
              !(b->got = calloc(cap, 1)))) {
        free_batch(b);
        return NULL;
    }
    return b;
}

static int batch_add(struct sl_batch *b, size_t index, const void *p, size_t len)
{
    b->index[b->n] = index;
    b->off[b->n] = (uint32_t)b->payload.len;
    int r = sl_batch_add(&b->payload, p, len);
    if (r)
        return r == -EMSGSIZE ? SL_EMSGSIZE : SL_ENOMEM;
    b->n++;
    return 0;
}

/* Fills a batch from the retry queue: one input alone, or those that may
 * share a batch. They count as in flight from here. */
static int take_retries(struct sl_map *m, struct sl_batch *b, size_t cap)
{
    while (m->retry_head && b->n < cap) {
        retry *r = m->retry_head;
        if (r->alone && b->n > 0)
            break;
        int e = batch_add(b, r->index, r->data, r->len);
        if (e)
            return e;
        if (r->tries > b->tries)
            b->tries = r->tries;
        if (r->losses > b->losses)
            b->losses = r->losses;
        m->retry_head = r->next;
        if (!m->retry_head)
            m->retry_tail = &m->retry_head;
        m->nretry--;
        m->inflight++;
        bool alone = r->alone;
        free(r);
        if (alone)
            break;
    }
    return 0;
}

static int take_new_inputs(struct sl_map *m, struct sl_batch *b, size_t cap, bool may_block)
{
    while (b->n < cap && !m->inputs_done && !m->source_dry && has_room(m)) {
        const void *p;
        size_t len;
        int r = pull_input(m, may_block && b->n == 0, &p, &len);
        if (r <= 0)
            return r;
        if ((r = batch_add(b, m->next, p, len)) < 0)
            return r;
        m->next++;
        m->inflight++; /* counted now: has_room sees it */
    }
    return 0;
}

/* Starts one batch if there is room and input. 1 if it did, 0 if not, or
 * a negative code. */
static int start_batch(struct sl_handle *h, bool may_block)
{
    struct sl_map *m = h->map;
    size_t cap = batch_size(m);
    struct sl_batch *b = batch_new(cap);
    if (!b)
        return SL_ENOMEM;
    int r = take_retries(m, b, cap);
    if (!r && b->n == 0)
        r = take_new_inputs(m, b, cap, may_block);
    if (r < 0 || b->n == 0) {
        free_batch(b); /* on an error the map fails, and what b took with it */
        return r;
    }
    b->h = sl_handles_start_batch(h, m->fn, b->payload.data, b->payload.len);
    if (!b->h) {
        free_batch(b);
        return SL_ENOMEM;
    }
    b->h->batch = b;
    b->next = m->batches;
    if (m->batches)
        m->batches->prev = b;
    m->batches = b;
    m->nbatches++;
    return 1;
}

/* A batch may start: of inputs to run again, or of new ones. */
static bool wants_batch(const struct sl_map *m)
{
    if (m->retry_head)
        return m->nbatches < m->opts.window;
    return !m->inputs_done && !m->source_dry && has_room(m);
}

/* Nothing is running or waiting to be handed out: only then may a
 * handle source block the map for its next output. */
static bool idle(const struct sl_map *m)
{
    return m->inflight == 0 && m->nretry == 0 && m->held == 0 &&
           (m->opts.unordered || m->ring[m->base & m->mask].state == SLOT_EMPTY);
}

/* Starts batches while there is room and input. 0 or a negative code. */
static int fill(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    int r;
    while (wants_batch(m))
        if ((r = start_batch(h, idle(m))) <= 0)
            return r;
    return 0;
}

/* ---- results ---- */

static int store(slot *s, size_t index, uint8_t state, bool typed, const void *p, size_t len)
{
    if (s->cap < len + 1) {
        char *d = realloc(s->data, len + 1);
        if (!d)
            return SL_ENOMEM;
        s->data = d;
        s->cap = len + 1;
    }
    memcpy(s->data, p, len);
    s->data[len] = '\0';
    s->len = len;
    s->state = state;
    s->typed = typed;
    s->index = index;
    return 0;
}

/* Puts the result of input `index` where sl_next will find it. */
static int keep_result(struct sl_map *m, size_t index, uint8_t flags, const void *p, size_t len)
{
    slot *s;
    if (m->opts.unordered)
        s = &m->ring[(m->head + m->held++) & m->mask];
    else
        s = &m->ring[index & m->mask];
    m->inflight--;
    return store(s, index, flags & SL_RESULT_FAILED ? SLOT_FAILED : SLOT_OK, flags & SL_RESULT_TYPED, p, len);
}

static void note_time(struct sl_map *m, uint32_t ns)
{
    double t = ns ? (double)ns : 1.0;
    m->item_ns = m->item_ns > 0 ? m->item_ns * 0.9 + t * 0.1 : t;
}

/* A batch's results frame: every record goes to its slot. */
static int on_results(struct sl_map *m, struct sl_batch *b, const uint8_t *p, size_t len)
{
    sl_reader rd = sl_reader_init(p, len);
    sl_result_rec rec;
    int k;
    while ((k = sl_result_next(&rd, &rec)) == 1) {
        if (rec.pos >= b->n || b->got[rec.pos])
            return -EBADMSG;
        b->got[rec.pos] = 1;
        b->ngot++;
        note_time(m, rec.ns);
        int r = keep_result(m, b->index[rec.pos], rec.flags, rec.data, rec.len);
        if (r)
            return r;
    }
    return k;
}

/* Queues input `pos` of failed batch b to run again: `blamed` when b's
 * failure may be its fault (it goes alone, and counts a try), else as a
 * bystander of another input's crash. */
static int queue_retry(struct sl_map *m, struct sl_batch *b, uint32_t pos, bool alone, bool blamed)
{
    uint32_t end = pos + 1 < b->n ? b->off[pos + 1] : (uint32_t)b->payload.len;
    uint32_t len = end - b->off[pos] - 4; /* minus the length prefix */
    retry *r = malloc(sizeof *r + len);
    if (!r)
        return SL_ENOMEM;
    r->next = NULL;
    r->index = b->index[pos];
    r->tries = b->tries + blamed;
    r->losses = b->losses + !blamed;
    r->alone = alone || r->tries >= MAX_BATCH_TRIES;
    r->len = len;
    memcpy(r->data, b->payload.data + b->off[pos] + 4, len);
    *m->retry_tail = r;
    m->retry_tail = &r->next;
    m->nretry++;
    return 0;
}

/* The batch call failed as a whole (`why`). If input `culprit` crashed
 * it, that input fails and the others go again. If it was lost to another
 * input's crash (`culprit` NONE), they all go again. Otherwise (BLAME_FIRST)
 * the first unfinished input, which was running, is to blame: alone in its
 * batch it fails with `why`; else it goes again alone, and the rest too. */
#define NONE UINT32_MAX
#define BLAME_FIRST (UINT32_MAX - 1)
static int on_batch_failed(struct sl_map *m, struct sl_batch *b, uint32_t culprit, const char *why, size_t len)
{
    bool first = true, lost = culprit == NONE;
    for (uint32_t pos = 0; pos < b->n; pos++) {
        if (b->got[pos])
            continue;
        b->got[pos] = 1;
        b->ngot++;
        bool blamed = culprit == BLAME_FIRST ? first : pos == culprit;
        int r;
        if ((blamed && (b->n == 1 || culprit != BLAME_FIRST)) || (lost && b->losses >= MAX_LOSSES)) {
            r = keep_result(m, b->index[pos], SL_RESULT_FAILED, why, len);
        } else {
            m->inflight--;
            r = queue_retry(m, b, pos, blamed, blamed);
        }
        if (r)
            return r;
        first = false;
    }
    return 0;
}

/* A batch call ended normally: every result must have come. */
static int on_batch_returned(struct sl_map *m, struct sl_batch *b)
{
    static const char why[] = "the batch ended without this input's result";
    for (uint32_t pos = 0; pos < b->n; pos++)
        if (!b->got[pos]) {
            b->got[pos] = 1;
            b->ngot++;
            int r = keep_result(m, b->index[pos], SL_RESULT_FAILED, why, sizeof why - 1);
            if (r)
                return r;
        }
    return 0;
}

/* A batch call's failure frame: whom it blames, and why. */
static int on_batch_ended(struct sl_map *m, struct sl_batch *b, const sl_item *it)
{
    const char *why = (const char *)it->data;
    size_t len = it->len;
    uint32_t culprit = it->type == SL_FRAME_CALL_LOST ? NONE : BLAME_FIRST;
    if (it->type == SL_FRAME_CALL_CRASHED && (sl_crashed_decode(it->data, it->len, &culprit, &why, &len) ||
                                              culprit >= b->n || b->got[culprit]))
        return -EBADMSG;
    return on_batch_failed(m, b, culprit, why, len);
}

/* Reads every frame the batches sent since the last look (lock held). */
static int take_frames_locked(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    int r = 0;
    while (h->head && r == 0) {
        sl_item *it = h->head;
        h->head = it->next;
        if (!h->head)
            h->tail = NULL;
        struct sl_batch *b = it->from->batch;
        if (it->type == SL_FRAME_CALL_OUTPUT) {
            r = on_results(m, b, it->data, it->len);
            sl_handles_credit_locked(b->h, it->len);
        } else {
            r = it->type == SL_FRAME_CALL_RETURN ? on_batch_returned(m, b) : on_batch_ended(m, b, it);
            unlink_batch(m, b);
            sl_handles_close_locked(b->h);
            free_batch(b);
        }
        free(it);
    }
    if (r == -EBADMSG)
        r = SL_EFAILED;
    return r;
}

/* The next result to hand out, or NULL. */
static slot *ready_slot(struct sl_map *m)
{
    if (m->opts.unordered)
        return m->held ? &m->ring[m->head & m->mask] : NULL;
    slot *s = &m->ring[m->base & m->mask];
    return s->state != SLOT_EMPTY ? s : NULL;
}

static void take_slot(struct sl_map *m, slot *s)
{
    if (m->opts.unordered) {
        m->head++;
        m->held--;
    } else {
        m->base++;
    }
    m->current = s;
}

static bool finished(const struct sl_map *m)
{
    return m->inputs_done && m->inflight == 0 && m->nretry == 0 && !ready_slot((struct sl_map *)m);
}

bool sl_map_ready_locked(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    if (!h->done && take_frames_locked(h) < 0)
        h->done = h->failed = true;
    return h->done || h->cancelled || ready_slot(m) || finished(m);
}

/* ---- ending ---- */

/* Cancels every batch still running and drops what they sent. */
static void stop_batches(struct sl_handle *h)
{
    struct sl_map *m = h->map;
    sl_rt_lock();
    while (m->batches) {
        struct sl_batch *b = m->batches;
        unlink_batch(m, b);
        sl_handles_close_locked(b->h);
        free_batch(b);
    }
    for (sl_item *it = h->head, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    h->head = h->tail = NULL;
    sl_rt_unlock();
    free_retries(m);
}

/* Sets the map's error: "<fn> input <i> failed: <why>". */
static void set_error(struct sl_handle *h, size_t index, const char *why)
{
    struct sl_map *m = h->map;
    size_t n = strlen(why) + strlen(m->fn) + 64;
    char *msg = malloc(n);
    if (msg)
        snprintf(msg, n, "%s input %zu failed: %s", m->fn, index, why);
    free(h->error);
    h->error = msg;
    h->failed = true;
}

/* Ends the map with `why` (no input to blame). */
static int fail_map(struct sl_handle *h, int code, const char *why)
{
    free(h->error);
    h->error = strdup(why);
    h->failed = h->done = true;
    stop_batches(h);
    return code == SL_ECANCELED ? code : SL_EFAILED;
}

/* fill(), ending the map if that fails. 0 or what sl_next returns then. */
static int fill_or_fail(struct sl_handle *h)
{
    int r = fill(h);
    if (r >= 0)
        return 0;
    const struct sl_map *m = h->map;
    const char *source_error = m->in.kind == INPUTS_HANDLE ? sl_handle_error(m->in.from) : NULL;
    char why[512];
    if (r == SL_ENOMEM || r == SL_EMSGSIZE || r == SL_ECANCELED)
        snprintf(why, sizeof why, "%s", r == SL_ENOMEM ? "out of memory starting inputs"
                                        : r == SL_EMSGSIZE ? "an input is too large" : "cancelled");
    else
        snprintf(why, sizeof why, "the map's input source failed: %s", source_error ? source_error : sl_strerror(r));
    return fail_map(h, r, why);
}

/* Hands out slot s: a result, or a failed input's error. */
static int hand_out(struct sl_handle *h, slot *s, const void **data, size_t *len)
{
    struct sl_map *m = h->map;
    take_slot(m, s);
    if (s->state == SLOT_FAILED) {
        set_error(h, s->index, s->data);
        if (!m->opts.return_exceptions) {
            h->done = true;
            stop_batches(h); /* fail fast: cancel the rest */
        }
        return SL_EFAILED;
    }
    if (data)
        *data = s->data;
    if (len)
        *len = s->len;
    return 1;
}

int sl_map_next(struct sl_handle *h, const void **data, size_t *len, double timeout)
{
    struct sl_map *m = h->map;
    if (m->current) {
        m->current->state = SLOT_EMPTY;
        m->current = NULL;
    }
    if (h->done)
        return h->failed ? SL_EFAILED : 0;
    h->failed = false;
    struct timespec deadline;
    bool have_deadline = false; /* reckoned only if it comes to waiting */
    for (;;) {
        slot *s = ready_slot(m); /* only this thread touches the ring */
        if (s)
            return hand_out(h, s, data, len);
        int r = fill_or_fail(h);
        if (r < 0)
            return r;
        sl_rt_lock();
        r = take_frames_locked(h);
        if (r < 0 || h->done) {
            sl_rt_unlock();
            return fail_map(h, r < 0 ? r : SL_EFAILED, "the map's results could not be read");
        }
        if (ready_slot(m)) {
            sl_rt_unlock();
            continue;
        }
        if (finished(m)) {
            h->done = true;
            sl_rt_unlock();
            return 0;
        }
        if (h->cancelled || h->owner->cancelled) {
            sl_rt_unlock();
            return SL_ECANCELED;
        }
        if (timeout >= 0 && !have_deadline) {
            sl_rt_deadline(timeout, &deadline);
            have_deadline = true;
        }
        if (!wants_batch(m) && !h->head && (timeout == 0 ||
            sl_rt_wait_locked(h->owner, timeout >= 0 ? &deadline : NULL) == SL_ETIMEDOUT) && !h->head) {
            sl_rt_unlock();
            return SL_ETIMEDOUT;
        }
        m->source_dry = false; /* woken: the source may have more */
        sl_rt_unlock();
    }
}

void sl_map_close(struct sl_handle *h)
{
    stop_batches(h);
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
    const slot *s = h->map->current;
    return s && s->typed ? SL_FRAME_F_TYPED : 0;
}
