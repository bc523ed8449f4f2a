/*
 * runtime.c: one container. The main thread reads frames from the server;
 * each input runs as a fiber on a carrier thread (sched.c), or on the
 * reader itself while the function is quick; one writer thread sends
 * everything the calls produce, as many frames per write() as have piled
 * up since the last one.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "proto/batch.h"
#include "proto/frame.h"
#include "proto/limits.h"

typedef struct sl_container {
    int fd;
    const sl_function_def *def;
    int max_inputs;
    /* Output, and each call's flow state (cancelled, unacked, head_sent),
     * under out_mu: a yield takes this one lock. */
    pthread_mutex_t out_mu;
    sl_buf out;                /* frames waiting to be written */
    sl_buf spare;              /* an empty buffer with capacity, for direct writes */
    /* The last frame in `out`, when it is a map batch's results: the next
     * result of that batch joins it (NULL after any other append). */
    const struct sl_call *tail_call;
    size_t tail_off;
    /* When everything in `out` is results of quick map inputs, it may wait
     * for the writer until this time (CLOCK_MONOTONIC ns; 0: send now):
     * a timer wake-up per LAZY_NS instead of one per result. */
    uint64_t lazy_until;
    bool writing;              /* a thread is writing (the writer or a direct one) */
    /* An input run on the reader left its RETURN or ERROR in `out` unwritten:
     * the stretch's results go in one write (release_held), not one each. */
    bool held;
    pthread_cond_t writer_cv;  /* out became non-empty */
    pthread_cond_t drained_cv; /* out is empty and nobody writes */
    bool writer_waiting;
    /* Calls, under mu. Lock order: mu, then out_mu. */
    pthread_mutex_t mu;
    struct sl_call **calls;    /* in flight, max_inputs slots */
    int ncalls;
    struct sl_call *queue_head, *queue_tail; /* waiting for a carrier */
    int nqueued;
    int quick_streak;          /* inputs in a row that ran under INLINE_RUN_NS */
    bool left_to_reader;       /* flush_inputs told no carrier: run_inline owes it */
    bool sentinel_started;
    bool shutting_down;
} sl_container;

static sl_container g_ct;

/* Who reads the server's socket. One thread at a time is the reader. While
 * the function is quick, the reader runs queued inputs itself instead of
 * waking a carrier for each (a wake-up, an interrupt to another CPU in a VM,
 * was most of a quick call's cost in the container). A blocking input must
 * not stop the reading of cancels and credits, so then a sentinel thread
 * takes the reading over: at once when the input blocks in sluice's own
 * waits (sl_sleep, sl_next, a full window), else after TAKEOVER_NS. The
 * reader and the sentinel swap roles: the old reader becomes the sentinel
 * once its input returns. See docs/architecture.md. */
static struct {
    pthread_mutex_t read_mu;          /* held while reading: `in`, the input batch */
    sl_buf in;
    /* generation << 1, | 1 while the reader runs inputs; a takeover makes
     * it the next generation (only the sentinel changes it then) */
    atomic_uint_fast64_t state;
    atomic_uint_fast64_t inline_since; /* when the reader's current inline stretch began */
    atomic_uint_fast64_t last_inline;  /* when the last one began */
    atomic_bool takeover_now;          /* an inline input is about to block */
    atomic_bool sentinel_present;      /* a thread is the sentinel */
    pthread_mutex_t sent_mu;           /* a leaf lock, for the sentinel's sleep */
    pthread_cond_t sent_cv;
    bool sentinel_sleeping;            /* without a timeout (no inline runs lately) */
} g_rd = {.read_mu = PTHREAD_MUTEX_INITIALIZER, .sent_mu = PTHREAD_MUTEX_INITIALIZER};

/* The call the reader runs inline, for crash reports (carriers: sched.c). */
static __thread struct sl_call *tl_reader_call;

/* Results of one batch share a frame up to about this size. */
#define MAX_JOINED_FRAME (64u * 1024u)
/* How long the result of a quick map input may wait to go out with the
 * next ones, and what counts as quick. */
#define LAZY_NS 100000u
#define QUICK_INPUT_NS 20000u
/* A yield this long after the call's previous one is "sparse". */
#define SPARSE_YIELD_NS 20000000u
/* Inputs run on the reader once INLINE_STREAK in a row each ran under
 * INLINE_RUN_NS, for at most INLINE_STRETCH_NS before the reader reads
 * again; one that runs past TAKEOVER_NS loses the socket to the sentinel,
 * which checks every SENTINEL_PERIOD_NS while inputs run inline and sleeps
 * after SENTINEL_IDLE_NS without them. */
#define INLINE_RUN_NS 100000u
#define INLINE_STREAK 16
#define INLINE_STRETCH_NS 1000000u
#define TAKEOVER_NS 2000000u
#define SENTINEL_PERIOD_NS 2000000u
#define SENTINEL_IDLE_NS 50000000u

static _Noreturn void die(const char *what, int err)
{
    fprintf(stderr, "sluice: container %d (%s): %s: %s\n", (int)getpid(), g_ct.def ? g_ct.def->name : "?", what,
            strerror(err));
    _exit(1);
}

/* Where a fatal signal writes the call the crashing thread ran, for the
 * zygote (see sl_container_main). */
static volatile uint32_t *g_crash_note;

static void on_fatal_signal(int sig)
{
    struct sl_call *c = tl_reader_call ? tl_reader_call : sl_sched_running();
    if (g_crash_note && c) {
        g_crash_note[1] = c->batch_input;
        g_crash_note[0] = c->id;
    }
    raise(sig); /* the handler was reset: this kills with the same signal */
}

/* So that a crash names the input that caused it, and its bystanders in
 * this container can be run again elsewhere. */
static void catch_fatal_signals(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            die("installing a crash handler", errno);
}

/* ---- output ---- */

/* Appends a frame for the writer (out_mu held); running out of memory ends
 * the container (the server then fails its calls with a reason) rather
 * than losing data. */
static void append_flags_locked(uint8_t type, uint8_t flags, uint32_t call_id, const void *p, size_t len)
{
    g_ct.tail_call = NULL;
    g_ct.lazy_until = 0; /* this frame goes now, and what is before it */
    int r = sl_frame_append_flags(&g_ct.out, type, flags, call_id, p, len);
    if (r)
        die("queueing output", -r);
}

static void append_locked(uint8_t type, uint32_t call_id, const void *p, size_t len)
{
    append_flags_locked(type, 0, call_id, p, len);
}

static void append_head_locked(struct sl_call *c)
{
    c->head_sent = true;
    if (c->status == 200 && !c->content_type && c->nheaders == 0)
        return; /* all defaults: the server needs no HEAD to apply them */
    sl_head h = {(uint32_t)c->status, c->content_type ? c->content_type : "", c->nheaders, c->headers};
    sl_buf payload = {0};
    int r = sl_head_encode(&payload, &h);
    if (r)
        die("encoding a response head", -r);
    append_locked(SL_FRAME_HEAD, c->id, payload.data, payload.len);
    sl_buf_free(&payload);
}

/* Releases out_mu, waking the writer if it sleeps. The wake-up happens
 * after the unlock, so the writer does not wake into a held lock. */
static void out_unlock_and_wake(void)
{
    bool wake = g_ct.writer_waiting && g_ct.out.len > 0 && !g_ct.writing && !g_ct.lazy_until;
    if (wake)
        g_ct.writer_waiting = false;
    pthread_mutex_unlock(&g_ct.out_mu);
    if (wake)
        pthread_cond_signal(&g_ct.writer_cv);
}

/* Sends one frame that is not a call's output (READY, a refused input). */
static void emit(uint8_t type, uint32_t id, const void *p, size_t len)
{
    pthread_mutex_lock(&g_ct.out_mu);
    append_locked(type, id, p, len);
    out_unlock_and_wake();
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void write_or_exit(const sl_buf *w)
{
    int r = write_all(g_ct.fd, w->data, w->len);
    if (r == -EPIPE || r == -ECONNRESET)
        _exit(0); /* the server is gone: so are we */
    if (r)
        die("writing to the server", -r);
}

/* A write just finished (out_mu held): tell whoever waits on it. */
static void write_done_locked(void)
{
    g_ct.writing = false;
    if (g_ct.out.len == 0)
        pthread_cond_broadcast(&g_ct.drained_cv);
}

/* The writer thread sends output that piles up while it writes, so a burst
 * of yields costs one write(). */
static void *writer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sl-writer"); /* for top -H, perf */
    sl_buf w = {0};
    pthread_mutex_lock(&g_ct.out_mu);
    for (;;) {
        while (g_ct.out.len == 0 || g_ct.writing || g_ct.lazy_until > sl_now_ns()) {
            g_ct.writer_waiting = true;
            if (g_ct.out.len > 0 && !g_ct.writing && g_ct.lazy_until) {
                struct timespec at = {(time_t)(g_ct.lazy_until / 1000000000u), (long)(g_ct.lazy_until % 1000000000u)};
                pthread_cond_timedwait(&g_ct.writer_cv, &g_ct.out_mu, &at);
            } else {
                pthread_cond_wait(&g_ct.writer_cv, &g_ct.out_mu);
            }
        }
        g_ct.writer_waiting = false;
        g_ct.lazy_until = 0;
        g_ct.writing = true;
        sl_buf_swap(&g_ct.out, &w);
        g_ct.tail_call = NULL;
        pthread_mutex_unlock(&g_ct.out_mu);
        write_or_exit(&w);
        w.len = 0;
        if (w.cap > 4 * SL_STREAM_WINDOW)
            sl_buf_free(&w); /* don't keep a huge return value's buffer */
        pthread_mutex_lock(&g_ct.out_mu);
        write_done_locked();
    }
    return NULL;
}

/* Ends a call's output (RETURN or ERROR, out_mu held, released here). If
 * nobody is writing, this thread writes at once instead of waking the
 * writer: a request/response call then costs no thread wake-up to send. */
static void flush_now_locked(void)
{
    if (g_ct.writing) {
        out_unlock_and_wake();
        return;
    }
    g_ct.writing = true;
    sl_buf w = g_ct.spare;
    g_ct.spare = (sl_buf){0};
    sl_buf_swap(&g_ct.out, &w);
    g_ct.tail_call = NULL;
    pthread_mutex_unlock(&g_ct.out_mu);
    write_or_exit(&w);
    w.len = 0;
    pthread_mutex_lock(&g_ct.out_mu);
    if (!g_ct.spare.data && w.cap <= 4 * SL_STREAM_WINDOW)
        g_ct.spare = w;
    else
        sl_buf_free(&w);
    write_done_locked();
    out_unlock_and_wake(); /* output that came meanwhile goes to the writer */
}

/* Whether this yield comes long after the call's last look (the seed's
 * event every 0.5 s, not a firehose). Such a yield is written by its own
 * thread when nobody is writing, which saves waking the writer: with
 * thousands of such streams per container, that wake-up was a good part
 * of the cost of an event. A firehose keeps the writer, which batches;
 * it is asked only while the writer is idle, as the clock costs a firehose
 * (a coarse one: its resolution of a few ms is all this needs). */
static bool sparse_yield(struct sl_call *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    bool sparse = now - c->last_yield_ns > SPARSE_YIELD_NS;
    c->last_yield_ns = now;
    return sparse;
}

/* Runs the function's exit hook, once, and ends the container. */
static _Noreturn void exit_container(int code)
{
    static atomic_flag ran = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&ran) && g_ct.def && g_ct.def->opts->exit)
        g_ct.def->opts->exit();
    fflush(NULL);
    _exit(code);
}

/* After SHUTDOWN, once the last call has ended: flush and exit. */
static _Noreturn void exit_when_drained(void)
{
    pthread_mutex_lock(&g_ct.out_mu);
    g_ct.lazy_until = 0;
    while (g_ct.out.len > 0 || g_ct.writing) {
        if (g_ct.writer_waiting && !g_ct.writing)
            pthread_cond_signal(&g_ct.writer_cv);
        pthread_cond_wait(&g_ct.drained_cv, &g_ct.out_mu);
    }
    pthread_mutex_unlock(&g_ct.out_mu);
    exit_container(0);
}

/* Takes out_mu and `bytes` of the call's window, waiting while the
 * window is full (flow control). Below SL_CREDIT_STEP uncredited it never
 * waits: the server credits in steps that large and may be holding the
 * rest. 0 with out_mu held, or SL_ECANCELED (not held) once the call is
 * cancelled. */
static int take_credit(struct sl_call *c, size_t bytes)
{
    pthread_mutex_lock(&g_ct.out_mu);
    while (!c->cancelled && c->unacked >= SL_CREDIT_STEP && c->unacked + bytes > SL_STREAM_WINDOW) {
        c->credit_waiters++;
        sl_rt_wait_locked(c, NULL); /* the credit comes through the socket */
        c->credit_waiters--;
    }
    if (c->cancelled) {
        pthread_mutex_unlock(&g_ct.out_mu);
        return SL_ECANCELED;
    }
    c->unacked += bytes;
    return 0;
}

/* Sends one result of a map batch as a record (proto/batch.h). It joins
 * the batch's previous record when that still waits to be written, so
 * results that pile up go as one frame. The result of a quick input may
 * wait up to LAZY_NS for the next ones (when all that waits is such
 * results); any other goes at once. Waits for credit like a yield.
 * 0, or SL_ECANCELED. */
static int emit_result(struct sl_call *c, uint32_t pos, uint8_t flags, uint32_t ns, const void *data, size_t len)
{
    bool quick = ns < QUICK_INPUT_NS;
    uint8_t head[SL_RESULT_HEAD_SIZE];
    sl_result_head(head, pos, flags, ns, (uint32_t)len);
    size_t size = sizeof head + len;
    if (take_credit(c, size) < 0)
        return SL_ECANCELED;
    bool all_lazy = g_ct.out.len == 0 || g_ct.lazy_until;
    uint64_t lazy_until = g_ct.lazy_until;
    bool join = g_ct.tail_call == c && g_ct.out.len - g_ct.tail_off < MAX_JOINED_FRAME;
    if (!join) {
        size_t off = g_ct.out.len;
        append_locked(SL_FRAME_OUTPUT, c->id, NULL, 0); /* clears lazy_until */
        g_ct.tail_call = c;
        g_ct.tail_off = off;
    }
    int r = sl_frame_extend(&g_ct.out, g_ct.tail_off, head, sizeof head);
    if (!r && len)
        r = sl_frame_extend(&g_ct.out, g_ct.tail_off, data, len);
    if (r)
        die("queueing a result", -r);
    if (quick && all_lazy) {
        bool start_timer = !lazy_until; /* else it rides on the wait already set */
        g_ct.lazy_until = lazy_until ? lazy_until : sl_now_ns() + LAZY_NS;
        bool wake = start_timer && g_ct.writer_waiting && !g_ct.writing; /* to start its timer */
        pthread_mutex_unlock(&g_ct.out_mu);
        if (wake)
            pthread_cond_signal(&g_ct.writer_cv);
        return 0;
    }
    g_ct.lazy_until = 0;
    out_unlock_and_wake();
    return 0;
}

/* ---- calls ---- */

static struct sl_call *find_call_locked(uint32_t id)
{
    for (int i = 0; i < g_ct.max_inputs; i++)
        if (g_ct.calls[i] && g_ct.calls[i]->id == id)
            return g_ct.calls[i];
    return NULL;
}

static void free_call(struct sl_call *c)
{
    pthread_cond_destroy(&c->cv);
    free(c->req);
    free(c->content_type);
    for (uint32_t i = 0; i < c->nheaders; i++) {
        free((char *)c->headers[i].name);
        free((char *)c->headers[i].value);
    }
    free(c->headers);
    free(c->ret);
    free(c->fail_msg);
    for (size_t i = 0; i < c->nallocs; i++)
        free(c->allocs[i]);
    free(c->allocs);
    sl_args_free(c);
    free(c);
}

/* The call leaves the table before its RETURN/ERROR goes out: the server
 * reuses the slot as soon as it reads that frame. `ns`: how long it ran. */
static void finish_call(struct sl_call *c, int rc, uint64_t ns)
{
    pthread_mutex_lock(&g_ct.mu);
    for (int i = 0; i < g_ct.max_inputs; i++)
        if (g_ct.calls[i] == c)
            g_ct.calls[i] = NULL;
    g_ct.ncalls--;
    if (!c->is_batch) /* a batch's time says nothing of one input's */
        g_ct.quick_streak = ns < INLINE_RUN_NS ? g_ct.quick_streak + (g_ct.quick_streak < INLINE_STREAK) : 0;
    bool last = g_ct.shutting_down && g_ct.ncalls == 0;
    pthread_mutex_unlock(&g_ct.mu);

    char fallback[256];
    const char *msg = c->fail_msg;
    if (rc < 0 && !msg) {
        snprintf(fallback, sizeof fallback, "%s returned %d (%s)", g_ct.def->name, rc, sl_strerror(rc));
        msg = fallback;
    }
    pthread_mutex_lock(&g_ct.out_mu);
    sl_handles_release_locked(c);
    if (rc >= 0) {
        if (!c->head_sent)
            append_head_locked(c);
        append_flags_locked(SL_FRAME_RETURN, c->has_ret ? c->ret_flags : 0, c->id, c->ret, c->has_ret ? c->ret_len : 0);
    } else {
        append_locked(SL_FRAME_ERROR, c->id, msg, strlen(msg));
    }
    if (c->on_reader) { /* on the reader: its stretch's end writes it (release_held) */
        g_ct.held = true;
        pthread_mutex_unlock(&g_ct.out_mu);
    } else {
        flush_now_locked();
    }
    free_call(c);
    if (last)
        exit_when_drained();
}

/* Clears what one input of a batch left, for the next: its result, its
 * kept strings and decoded arguments, and the calls it left open. */
static void reset_input(struct sl_call *c)
{
    free(c->ret);
    c->ret = NULL;
    c->ret_len = 0;
    c->has_ret = false;
    c->ret_flags = 0;
    free(c->fail_msg);
    c->fail_msg = NULL;
    for (size_t i = 0; i < c->nallocs; i++)
        free(c->allocs[i]);
    c->nallocs = 0;
    sl_args_reset(c);
    while (c->handles)
        sl_close(c->handles);
}

/* The result of one input, as a record: its return value or why it failed. */
static int emit_input_result(struct sl_call *c, uint32_t pos, int rc, uint64_t ns)
{
    uint32_t ns32 = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
    if (rc >= 0) {
        uint8_t typed = c->has_ret && (c->ret_flags & SL_FRAME_F_TYPED) ? SL_RESULT_TYPED : 0;
        return emit_result(c, pos, typed, ns32, c->ret, c->has_ret ? c->ret_len : 0);
    }
    char fallback[256];
    const char *msg = c->fail_msg;
    if (!msg) {
        snprintf(fallback, sizeof fallback, "%s returned %d (%s)", g_ct.def->name, rc, sl_strerror(rc));
        msg = fallback;
    }
    return emit_result(c, pos, SL_RESULT_FAILED, ns32, msg, strlen(msg));
}

/* Runs each input of a map batch in turn, on this one thread, sending
 * each result as it is ready. An input sees its own bytes as the call's
 * argument (NUL-terminated, as a request body is). Ends early, with 0,
 * once the batch is cancelled: nobody wants the rest. */
static int run_batch(struct sl_call *c)
{
    const char *batch = c->req->body;
    uint32_t batch_len = c->req->body_len;
    sl_reader r = sl_reader_init(batch, batch_len);
    sl_buf arg = {0};
    const uint8_t *p;
    uint32_t len;
    uint64_t t = sl_now_ns();
    int rc = 0;
    for (uint32_t pos = 0; sl_batch_next(&r, &p, &len) == 1; pos++) {
        arg.len = 0;
        if (sl_buf_reserve(&arg, (size_t)len + 1)) {
            rc = sl_fail(c, "container out of memory");
            break;
        }
        sl_buf_append(&arg, p, len); /* space reserved */
        arg.data[len] = '\0';
        c->req->body = (const char *)arg.data;
        c->req->body_len = len;
        c->batch_input = pos + 1;
        int in_rc = g_ct.def->fn(c);
        c->batch_input = 0;
        uint64_t end = sl_now_ns();
        int sent = emit_input_result(c, pos, in_rc, end - t);
        t = end;
        reset_input(c);
        if (sent < 0)
            break;
    }
    c->req->body = batch;
    c->req->body_len = batch_len;
    sl_buf_free(&arg);
    return rc;
}

static void run_call(struct sl_call *c)
{
    uint64_t t0 = sl_now_ns();
    int rc = c->is_batch ? run_batch(c) : g_ct.def->fn(c);
    uint64_t ns = c->waited ? UINT64_MAX : sl_now_ns() - t0; /* one that waits is never quick */
    finish_call(c, rc, ns);
}

/* The next queued call (mu held, queue not empty). */
static struct sl_call *dequeue_locked(void)
{
    struct sl_call *c = g_ct.queue_head;
    g_ct.queue_head = c->next_queued;
    if (!g_ct.queue_head)
        g_ct.queue_tail = NULL;
    g_ct.nqueued--;
    c->next_queued = NULL;
    return c;
}

/* For the carriers (sched.c): the next queued call, or NULL. */
static struct sl_call *take_queued(void)
{
    pthread_mutex_lock(&g_ct.mu);
    struct sl_call *c = g_ct.queue_head ? dequeue_locked() : NULL;
    pthread_mutex_unlock(&g_ct.mu);
    return c;
}

static const sl_sched_ops g_sched_ops = {take_queued, run_call};

/* Tells the carriers of `n` more queued calls (no lock held). */
static void notify_carriers(int n)
{
    if (n <= 0)
        return;
    pthread_mutex_lock(&g_ct.out_mu);
    sl_sched_notify_locked(n);
    pthread_mutex_unlock(&g_ct.out_mu);
    sl_sched_start_pending();
}

static struct sl_call *new_call(uint32_t id, const uint8_t *p, size_t len, const char **why)
{
    struct sl_call *c = calloc(1, sizeof *c);
    if (!c) {
        *why = "container out of memory";
        return NULL;
    }
    if (sl_request_decode(p, len, &c->req)) {
        *why = "malformed input frame";
        free(c);
        return NULL;
    }
    sl_cond_init_monotonic(&c->cv);
    c->id = id;
    c->status = 200;
    if (strcmp(c->req->method, "MAP") == 0) {
        c->is_batch = true;
        if (sl_batch_count(c->req->body, c->req->body_len) < 0) {
            *why = "malformed map batch";
            free_call(c);
            return NULL;
        }
    }
    return c;
}

/* Takes a slot and queues the call. */
static void enqueue_locked(struct sl_call *c, int slot)
{
    g_ct.calls[slot] = c;
    g_ct.ncalls++;
    if (g_ct.queue_tail)
        g_ct.queue_tail->next_queued = c;
    else
        g_ct.queue_head = c;
    g_ct.queue_tail = c;
    g_ct.nqueued++;
}

/* Whether the reader should run the queue's next call itself (mu held):
 * the function has been quick, and a sentinel can take the socket over. */
static bool inline_ok_locked(void)
{
    return g_ct.quick_streak >= INLINE_STREAK && g_ct.queue_head && !g_ct.queue_head->is_batch &&
           !g_ct.shutting_down && atomic_load(&g_rd.sentinel_present);
}

/* Inputs decoded from one read, queued together under one lock (reader
 * thread only): a burst of requests costs one lock, not one each. */
static struct sl_call *g_batch_head, **g_batch_tail = &g_batch_head;

static void on_input(uint32_t id, const uint8_t *p, size_t len)
{
    const char *why = NULL;
    struct sl_call *c = new_call(id, p, len, &why);
    if (!c) {
        emit(SL_FRAME_ERROR, id, why, strlen(why));
        return;
    }
    *g_batch_tail = c;
    g_batch_tail = &c->next_queued;
}

/* Input stacks a warm container makes before its first input: all of
 * max_inputs, but no more than this (max_inputs may be 10,000). */
#define PREWARM_MAX 1000

static int g_prewarm_target;

/* A function that asked for warm containers (min_containers or
 * buffer_containers) has each container make its input stacks and first
 * carriers while it waits, so its first burst finds them made. */
static void *prewarm_main(void *arg)
{
    (void)arg;
    sl_sched_prewarm(g_prewarm_target);
    return NULL;
}

static void start_sentinel_thread(void);

/* Queues the batch for the carriers, or for this thread when the function
 * is quick (run_inline). Called before any other frame is handled (a
 * CANCEL must find its call) and after each read. */
static void flush_inputs(void)
{
    struct sl_call *c = g_batch_head, *refused = NULL, **refused_tail = &refused;
    if (!c)
        return;
    g_batch_head = NULL;
    g_batch_tail = &g_batch_head;
    int queued = 0;
    bool start_sentinel = false;
    pthread_mutex_lock(&g_ct.mu);
    while (c) {
        struct sl_call *next = c->next_queued;
        c->next_queued = NULL;
        int slot = -1;
        for (int i = 0; i < g_ct.max_inputs && slot < 0; i++)
            if (!g_ct.calls[i])
                slot = i;
        if (slot < 0 || g_ct.shutting_down) {
            *refused_tail = c;
            refused_tail = &c->next_queued;
        } else {
            enqueue_locked(c, slot);
            queued++;
        }
        c = next;
    }
    if (inline_ok_locked()) { /* this thread runs them (run_inline) */
        g_ct.left_to_reader = true;
        queued = 0;
    }
    if (g_ct.quick_streak >= INLINE_STREAK && !g_ct.sentinel_started)
        start_sentinel = g_ct.sentinel_started = true;
    pthread_mutex_unlock(&g_ct.mu);
    notify_carriers(queued);
    if (start_sentinel)
        start_sentinel_thread();
    while (refused) {
        struct sl_call *next = refused->next_queued;
        static const char why[] = "container has no free input slot";
        emit(SL_FRAME_ERROR, refused->id, why, sizeof why - 1);
        free_call(refused);
        refused = next;
    }
}

static void on_cancel(uint32_t id)
{
    pthread_mutex_lock(&g_ct.mu); /* keeps c in the table, so alive */
    struct sl_call *c = find_call_locked(id);
    if (c) {
        pthread_mutex_lock(&g_ct.out_mu);
        c->cancelled = true;
        sl_rt_wake_locked(c);
        pthread_mutex_unlock(&g_ct.out_mu);
    }
    pthread_mutex_unlock(&g_ct.mu);
}

static void on_credit(uint32_t id, const uint8_t *p, size_t len)
{
    uint32_t bytes;
    if (sl_credit_decode(p, len, &bytes))
        die("reading a credit frame", EBADMSG);
    pthread_mutex_lock(&g_ct.mu); /* keeps c in the table, so alive */
    struct sl_call *c = find_call_locked(id);
    if (c) {
        pthread_mutex_lock(&g_ct.out_mu);
        c->unacked = bytes >= c->unacked ? 0 : c->unacked - bytes;
        /* Most credits find a generator that is not blocked on its window
         * but asleep in sl_sleep on the same cv: waking it for nothing
         * cost a context switch per event. */
        if (c->credit_waiters)
            sl_rt_wake_locked(c);
        pthread_mutex_unlock(&g_ct.out_mu);
    }
    pthread_mutex_unlock(&g_ct.mu);
}

static void on_shutdown(void)
{
    pthread_mutex_lock(&g_ct.mu);
    g_ct.shutting_down = true;
    bool idle = g_ct.ncalls == 0;
    pthread_mutex_unlock(&g_ct.mu);
    if (idle)
        exit_when_drained();
}

static void handle_frame(const sl_frame *f)
{
    if (f->type != SL_FRAME_INPUT)
        flush_inputs();
    switch (f->type) {
    case SL_FRAME_INPUT:
        on_input(f->call_id, f->payload, f->len);
        break;
    case SL_FRAME_CANCEL:
        on_cancel(f->call_id);
        break;
    case SL_FRAME_CREDIT:
        on_credit(f->call_id, f->payload, f->len);
        break;
    case SL_FRAME_SHUTDOWN:
        on_shutdown();
        break;
    case SL_FRAME_CALL_OUTPUT:
    case SL_FRAME_CALL_RETURN:
    case SL_FRAME_CALL_ERROR:
    case SL_FRAME_CALL_LOST:
    case SL_FRAME_CALL_CRASHED:
        sl_handles_on_frame(f->type, f->flags, f->call_id, f->payload, f->len);
        break;
    default:
        die("unexpected frame from the server", EBADMSG);
    }
}

/* ---- the reader and the sentinel ---- */

/* Reads what the server sent and handles it (read_mu held). */
static void read_frames_locked(void)
{
    sl_buf *in = &g_rd.in;
    ssize_t n;
    for (;;) {
        if (sl_buf_reserve(in, 64 * 1024))
            die("reading from the server", ENOMEM);
        n = read(g_ct.fd, in->data + in->len, in->cap - in->len);
        if (n > 0)
            break;
        if (n == 0)
            exit_container(0); /* the server closed our socket: it is gone or let us go */
        if (errno == ECONNRESET)
            exit_container(0);
        if (errno != EINTR)
            die("reading from the server", errno);
    }
    in->len += (size_t)n;
    size_t off = 0;
    sl_frame f;
    long k;
    while ((k = sl_frame_parse(in->data + off, in->len - off, &f)) > 0) {
        handle_frame(&f);
        off += (size_t)k;
    }
    if (k < 0)
        die("reading from the server", EBADMSG);
    sl_buf_consume(in, off);
    flush_inputs();
    sl_handles_wake();
}

/* Wakes the sentinel if it sleeps without a timeout, or in any case when
 * `now` (it must look at once). sent_mu is a leaf lock: any others may be
 * held. */
static void wake_sentinel(bool now)
{
    pthread_mutex_lock(&g_rd.sent_mu);
    bool sleeping = g_rd.sentinel_sleeping;
    g_rd.sentinel_sleeping = false;
    pthread_mutex_unlock(&g_rd.sent_mu);
    if (sleeping || now)
        pthread_cond_signal(&g_rd.sent_cv);
}

/* Runs queued calls on this thread, the reader, while the function is
 * quick, for up to INLINE_STRETCH_NS; what is left goes to carriers.
 * False when the sentinel took the socket over meanwhile: this thread is
 * no longer the reader. */
static bool run_inline(void)
{
    uint_fast64_t s = atomic_load(&g_rd.state); /* inline bit clear: only we set it */
    pthread_mutex_lock(&g_ct.mu);
    if (!g_ct.left_to_reader) { /* the carriers were told of what is queued */
        pthread_mutex_unlock(&g_ct.mu);
        return true;
    }
    g_ct.left_to_reader = false;
    if (inline_ok_locked()) {
        uint64_t start = sl_now_ns();
        atomic_store(&g_rd.takeover_now, false);
        atomic_store(&g_rd.inline_since, start);
        atomic_store(&g_rd.last_inline, start);
        atomic_store(&g_rd.state, s | 1);
        wake_sentinel(false);
        do {
            struct sl_call *c = dequeue_locked();
            pthread_mutex_unlock(&g_ct.mu);
            c->on_reader = true;
            tl_reader_call = c;
            run_call(c); /* frees c */
            tl_reader_call = NULL;
            pthread_mutex_lock(&g_ct.mu);
        } while (atomic_load(&g_rd.state) == (s | 1) && !atomic_load(&g_rd.takeover_now) &&
                 sl_now_ns() - start < INLINE_STRETCH_NS && inline_ok_locked());
        uint_fast64_t was = s | 1;
        if (!atomic_compare_exchange_strong(&g_rd.state, &was, s)) {
            pthread_mutex_unlock(&g_ct.mu); /* deposed: the sentinel planned the queue */
            return false;
        }
    }
    int n = g_ct.nqueued;
    pthread_mutex_unlock(&g_ct.mu);
    notify_carriers(n);
    return true;
}

/* Writes the results that inputs run on the reader left held, if nobody
 * wrote them meanwhile. Called when the reader's stretch ends, and by the
 * sentinel when it takes over from a reader whose input blocks, so a held
 * result waits at most a stretch (INLINE_STRETCH_NS) or a takeover. */
static void release_held(void)
{
    pthread_mutex_lock(&g_ct.out_mu);
    if (!g_ct.held) {
        pthread_mutex_unlock(&g_ct.out_mu);
        return;
    }
    g_ct.held = false;
    if (g_ct.out.len == 0) /* a yield's or the writer's write took them */
        pthread_mutex_unlock(&g_ct.out_mu);
    else
        flush_now_locked();
}

/* Reads the socket until the sentinel takes the reading over. */
static void reader_loop(void)
{
    bool still_reader;
    do {
        pthread_mutex_lock(&g_rd.read_mu);
        read_frames_locked();
        pthread_mutex_unlock(&g_rd.read_mu);
        still_reader = run_inline();
        release_held();
    } while (still_reader);
}

/* Watches the reader while it runs inputs, and returns once this thread
 * has taken the reading over from a reader whose input blocks. */
static void sentinel_loop(void)
{
    atomic_store(&g_rd.sentinel_present, true);
    pthread_mutex_lock(&g_rd.sent_mu);
    for (;;) {
        uint_fast64_t s = atomic_load(&g_rd.state);
        uint64_t now = sl_now_ns();
        if ((s & 1) && (atomic_load(&g_rd.takeover_now) || now - atomic_load(&g_rd.inline_since) > TAKEOVER_NS)) {
            if (atomic_compare_exchange_strong(&g_rd.state, &s, s + 1)) /* gen << 1 | 1, + 1: next gen */
                break;
            continue; /* the stretch just ended */
        }
        if (now - atomic_load(&g_rd.last_inline) > SENTINEL_IDLE_NS) {
            g_rd.sentinel_sleeping = true; /* run_inline wakes us */
            pthread_cond_wait(&g_rd.sent_cv, &g_rd.sent_mu);
        } else {
            uint64_t at = now + SENTINEL_PERIOD_NS;
            struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
            pthread_cond_timedwait(&g_rd.sent_cv, &g_rd.sent_mu, &ts);
        }
    }
    g_rd.sentinel_sleeping = false;
    pthread_mutex_unlock(&g_rd.sent_mu);
    atomic_store(&g_rd.sentinel_present, false);
    /* The old reader's input blocks: it is not quick, and what it left
     * queued goes to carriers. It becomes the sentinel when it returns. */
    pthread_mutex_lock(&g_ct.mu);
    g_ct.quick_streak = 0;
    g_ct.left_to_reader = false;
    int n = g_ct.nqueued;
    pthread_mutex_unlock(&g_ct.mu);
    notify_carriers(n);
    release_held(); /* what the old reader's earlier inputs returned */
}

static void *sentinel_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sl-sentinel");
    for (;;) {
        sentinel_loop();
        reader_loop();
    }
    return NULL;
}

static void start_sentinel_thread(void)
{
    int r = sl_thread_start(sentinel_main, NULL);
    if (r) /* then inputs keep going to carriers: slower, not wrong */
        fprintf(stderr, "sluice: container %d (%s): no sentinel thread (%s): quick inputs stay on carriers\n",
                (int)getpid(), g_ct.def->name, strerror(-r));
}

/* The input this thread runs is about to wait in sluice (sl_sleep,
 * sl_next, a full window): it is not quick, and if the reader runs it, the
 * sentinel takes the socket over now, since what it waits for comes
 * through the socket. Any locks may be held. */
static void about_to_wait(struct sl_call *c)
{
    c->waited = true;
    if (!c->on_reader)
        return;
    c->on_reader = false;
    atomic_store(&g_rd.takeover_now, true);
    wake_sentinel(true);
}

_Noreturn void sl_container_main(unsigned fn_index, int fd, volatile uint32_t *crash_note)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    g_crash_note = crash_note;
    catch_fatal_signals();
    g_ct.fd = fd;
    g_ct.def = sl_registry_get(fn_index);
    sl_fninfo info;
    sl_registry_info(fn_index, &info);
    g_ct.max_inputs = info.max_inputs;
    g_ct.calls = calloc((size_t)g_ct.max_inputs, sizeof *g_ct.calls);
    if (!g_ct.calls)
        die("allocating the call table", ENOMEM);
    pthread_mutex_init(&g_ct.mu, NULL);
    pthread_mutex_init(&g_ct.out_mu, NULL);
    sl_cond_init_monotonic(&g_ct.writer_cv);
    sl_cond_init_monotonic(&g_rd.sent_cv);
    pthread_cond_init(&g_ct.drained_cv, NULL);
    sl_sched_init(&g_sched_ops, &g_ct.out_mu, g_ct.max_inputs);
    int r = sl_thread_start(writer_main, NULL);
    if (r)
        die("starting the writer thread", -r);

    r = sl_limits_apply(info.cpu, info.memory);
    if (r) {
        fprintf(stderr, "sluice: container %d (%s): cannot apply cpu/memory limits: %s\n", (int)getpid(),
                g_ct.def->name, strerror(-r));
        _exit(3);
    }
    if (g_ct.def->opts->enter) {
        int rc = g_ct.def->opts->enter();
        if (rc != 0) {
            fprintf(stderr, "sluice: container %d (%s): enter hook failed (%d)\n", (int)getpid(), g_ct.def->name, rc);
            _exit(3);
        }
    }
    emit(SL_FRAME_READY, 0, NULL, 0);
    if (info.min_containers > 0 || info.buffer_containers > 0) {
        g_prewarm_target = g_ct.max_inputs < PREWARM_MAX ? g_ct.max_inputs : PREWARM_MAX;
        if ((r = sl_thread_start(prewarm_main, NULL))) /* then they are made on demand */
            fprintf(stderr, "sluice: container %d (%s): cannot make input stacks ahead: %s\n", (int)getpid(),
                    g_ct.def->name, strerror(-r));
    }

    for (;;) { /* this thread starts as the reader */
        reader_loop();
        sentinel_loop();
    }
}

/* ---- the primitives api.c builds on ---- */

int sl_rt_yield(struct sl_call *c, const void *data, size_t len)
{
    return sl_rt_yield_flags(c, 0, data, len);
}

int sl_rt_yield_flags(struct sl_call *c, uint8_t flags, const void *data, size_t len)
{
    if (c->is_batch) /* a map's inputs give return values; yields go nowhere */
        return sl_rt_cancelled(c) ? SL_ECANCELED : 0;
    if (take_credit(c, len) < 0)
        return SL_ECANCELED;
    if (!c->head_sent)
        append_head_locked(c);
    append_flags_locked(SL_FRAME_OUTPUT, flags, c->id, data, len);
    if (!g_ct.writing && sparse_yield(c))
        flush_now_locked(); /* this thread writes: no writer wake-up */
    else
        out_unlock_and_wake();
    return 0;
}

void sl_rt_deadline(double seconds, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    if (seconds > 1e9)
        seconds = 1e9; /* ~31 years: keeps time_t arithmetic in range */
    if (seconds > 0) {
        double whole = (double)(time_t)seconds;
        out->tv_sec += (time_t)seconds;
        out->tv_nsec += (long)((seconds - whole) * 1e9);
        if (out->tv_nsec >= 1000000000L) {
            out->tv_sec++;
            out->tv_nsec -= 1000000000L;
        }
    }
}

int sl_rt_wait_locked(struct sl_call *c, const struct timespec *deadline)
{
    about_to_wait(c);
    uint64_t at = 0; /* none */
    if (deadline) {
        at = (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;
        at += !at; /* 0 would mean none */
    }
    return sl_sched_wait_locked(c, at);
}

void sl_rt_wake_locked(struct sl_call *c)
{
    sl_sched_wake_locked(c);
}

/* A sleep of at least SLEEP_GRID_MIN_S ends on the nearest SLEEP_GRID_NS
 * tick of the monotonic clock: within half a millisecond of the time asked
 * (and 0.5% of it). Sleepers whose ends fall near the same tick then share
 * one timer interrupt, and their events reach the server, and from it the
 * clients, together, where each used to cost its own interrupt, wake-up
 * and write at every stage. With 10,000 of the seed's streams (20 events
 * per ms) the server tree's CPU time over the run fell by 14 to 25%
 * (docs/bench.md). Nearest, not next: a generator sleeps again just after
 * a tick, so rounding up made every sleep nearly a whole tick long, and the
 * seed's ten events 9 ms late. */
#define SLEEP_GRID_NS 1000000L
#define SLEEP_GRID_MIN_S 0.1

static void round_to_grid(struct timespec *t)
{
    long over = t->tv_nsec % SLEEP_GRID_NS;
    t->tv_nsec -= over;
    if (over >= SLEEP_GRID_NS / 2)
        t->tv_nsec += SLEEP_GRID_NS;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int sl_rt_sleep(struct sl_call *c, double seconds)
{
    struct timespec deadline;
    sl_rt_deadline(seconds, &deadline);
    if (seconds >= SLEEP_GRID_MIN_S)
        round_to_grid(&deadline);
    pthread_mutex_lock(&g_ct.out_mu);
    int r = 0;
    while (!c->cancelled && r != SL_ETIMEDOUT)
        r = sl_rt_wait_locked(c, &deadline);
    bool cancelled = c->cancelled;
    pthread_mutex_unlock(&g_ct.out_mu);
    return cancelled ? SL_ECANCELED : 0;
}

void sl_rt_lock(void)
{
    pthread_mutex_lock(&g_ct.out_mu);
}

void sl_rt_unlock(void)
{
    out_unlock_and_wake();
}

void sl_rt_unlock_flush(void)
{
    flush_now_locked();
}

void sl_rt_append_locked(uint8_t type, uint32_t id, const void *p, size_t len)
{
    append_locked(type, id, p, len);
}

bool sl_rt_cancelled(const struct sl_call *c)
{
    pthread_mutex_lock(&g_ct.out_mu);
    bool v = c->cancelled;
    pthread_mutex_unlock(&g_ct.out_mu);
    return v;
}

int sl_rt_keep(struct sl_call *c, void *p)
{
    if (c->nallocs == c->allocs_cap) {
        /* doubling: a call may keep many (every decoded query parameter) */
        size_t cap = c->allocs_cap ? 2 * c->allocs_cap : 8;
        void **a = realloc(c->allocs, cap * sizeof *a);
        if (!a) {
            free(p);
            return SL_ENOMEM;
        }
        c->allocs = a;
        c->allocs_cap = cap;
    }
    c->allocs[c->nallocs++] = p;
    return 0;
}
