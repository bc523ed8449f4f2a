/*
 * sched.c: runs a container's inputs as fibers on a few carrier threads.
 *
 * An input used to hold a thread of its own for its whole life, and the
 * seed's stream spends it asleep: 1,000 streams meant 1,000 threads, and
 * making one costs 70 to 180 us on the 2-core VM (docs/bench.md), so a
 * burst of fresh clients waited on thread creation. Now an input gets a
 * fiber (a stack, fiber.c), and a carrier thread runs fibers one at a time:
 * when an input waits in sluice (sl_sleep, a full window, sl_next), its
 * fiber parks and the carrier runs another. A carrier holds up to
 * FIBERS_PER_CARRIER fibers; its timed wait ends at the earliest deadline
 * among them.
 *
 * An input that does not wait in sluice (it computes, or blocks in a
 * syscall) keeps its carrier. The monitor thread watches for that: once a
 * carrier has run one fiber for HOG_NS, the carrier's other fibers move to
 * another carrier (a new one if none is free), and queued inputs that no
 * carrier is free to take get a new carrier. A moved fiber goes on on
 * another thread: docs/limits.md says what that means for thread-local
 * variables.
 *
 * Locking: everything here is under the container's output lock (out_mu,
 * runtime.c), which every wait and wake already holds. The thread running
 * a fiber holds out_mu across each switch, in both directions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "container/fiber.h"
#include "proto/limits.h"

#define FIBERS_PER_CARRIER 64
/* A new input finds every carrier running one fiber for this long: it
 * computes, most likely, so the new input gets a carrier of its own at
 * once (as it got a thread before fibers) instead of after HOG_NS. A
 * container starts with one carrier: every thread costs a fresh container
 * a few hundred microseconds, and the seed's streams need no second. */
#define BUSY_NS 1000000u
#define MIN_CARRIERS 1
#define HOG_NS 20000000u
/* Stacks of finished fibers kept for the next inputs. */
#define FREE_FIBERS_MAX 1024

enum fiber_state { F_READY, F_RUNNING, F_PARKED, F_DONE };

struct carrier;

typedef struct sl_fiber {
    sl_fiber_ctx ctx;
    struct sl_call *call;
    struct carrier *carrier;   /* the one that holds it */
    enum fiber_state state;
    uint64_t deadline;         /* parked: CLOCK_MONOTONIC ns it times out at; 0: never */
    bool timed_out;            /* it was made ready by its deadline */
    struct sl_fiber *next_ready;
    struct sl_fiber *prev, *next; /* in its carrier's list, or the free list */
} sl_fiber;

typedef struct carrier {
    pthread_cond_t cv;         /* ready fibers, new inputs, or a deadline */
    sl_fiber_regs home;        /* where a fiber that leaves lands */
    sl_fiber *running;
    uint64_t since;            /* when it entered `running` */
    sl_fiber *fibers;          /* every fiber it holds */
    int nfibers;
    sl_fiber *ready_head, *ready_tail;
    bool sleeping;             /* in its wait on cv */
    bool started;              /* its thread exists */
    struct carrier *next;
} carrier;

static struct {
    const sl_sched_ops *ops;
    pthread_mutex_t *mu;       /* the output lock */
    int max_carriers;
    carrier *carriers;
    int ncarriers;
    int pending;               /* inputs queued and not yet taken (a hint: the reader may take some) */
    sl_fiber *free_fibers;     /* finished, with their stacks */
    int nfree;
    sl_fiber *starting;        /* the fiber being entered for the first time */
    pthread_cond_t monitor_cv;
    bool monitor_started, monitor_idle;
    bool ran_shared;           /* a carrier holding others ran a fiber since the monitor's last look */
} g_s;

/* The call the calling thread runs on a carrier (for crash reports). */
static __thread struct sl_call *tl_running;

uint64_t sl_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
}

void sl_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* ---- a carrier's fibers (lock held) ---- */

static void attach(carrier *k, sl_fiber *f)
{
    f->carrier = k;
    f->prev = NULL;
    f->next = k->fibers;
    if (k->fibers)
        k->fibers->prev = f;
    k->fibers = f;
    k->nfibers++;
}

static void detach(carrier *k, sl_fiber *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        k->fibers = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    k->nfibers--;
}

/* Wakes k if it waits: it has something new to run, or a new deadline. */
static void poke(carrier *k)
{
    if (k->sleeping) {
        k->sleeping = false;
        pthread_cond_signal(&k->cv);
    }
}

static void push_ready(carrier *k, sl_fiber *f)
{
    f->next_ready = NULL;
    if (k->ready_tail)
        k->ready_tail->next_ready = f;
    else
        k->ready_head = f;
    k->ready_tail = f;
    poke(k);
}

static sl_fiber *pop_ready(carrier *k)
{
    sl_fiber *f = k->ready_head;
    if (f) {
        k->ready_head = f->next_ready;
        if (!k->ready_head)
            k->ready_tail = NULL;
    }
    return f;
}

static void make_ready(sl_fiber *f, bool timed_out)
{
    f->state = F_READY;
    f->timed_out = timed_out;
    push_ready(f->carrier, f);
}

/* Makes the parked fibers whose deadline passed ready; returns the
 * earliest deadline still to come (0: none). */
static uint64_t expire(carrier *k, uint64_t now)
{
    uint64_t next = 0;
    for (sl_fiber *f = k->fibers; f; f = f->next) {
        if (f->state != F_PARKED || !f->deadline)
            continue;
        if (f->deadline <= now)
            make_ready(f, true);
        else if (!next || f->deadline < next)
            next = f->deadline;
    }
    return next;
}

/* ---- carriers ---- */

static void *carrier_main(void *arg);

/* A carrier whose thread sl_sched_start_pending starts (lock held). NULL
 * when at the limit or out of memory. */
static carrier *add_carrier(void)
{
    if (g_s.ncarriers >= g_s.max_carriers)
        return NULL;
    carrier *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    sl_cond_init_monotonic(&k->cv);
    k->next = g_s.carriers;
    g_s.carriers = k;
    g_s.ncarriers++;
    return k;
}

static bool has_room(const carrier *k)
{
    return k->nfibers < FIBERS_PER_CARRIER;
}

/* Whether k is free to run more fibers now: it has room, and waits or
 * has yet to start. */
static bool is_free(const carrier *k)
{
    return has_room(k) && (k->sleeping || !k->started);
}

/* A free carrier other than `not`. */
static carrier *free_carrier(const carrier *not)
{
    for (carrier *k = g_s.carriers; k; k = k->next)
        if (k != not && is_free(k))
            return k;
    return NULL;
}

/* How many more inputs the carriers could take without a new one: the
 * room of each that does not look busy computing. */
static int room_for_inputs(uint64_t now)
{
    int room = 0;
    for (carrier *k = g_s.carriers; k; k = k->next)
        if (!(k->running && now - k->since > BUSY_NS))
            room += FIBERS_PER_CARRIER - k->nfibers;
    return room;
}

static void wake_monitor(void)
{
    if (g_s.monitor_idle) {
        g_s.monitor_idle = false;
        pthread_cond_signal(&g_s.monitor_cv);
    }
}

static void recycle(sl_fiber *f)
{
    if (g_s.nfree >= FREE_FIBERS_MAX) {
        sl_fiber_stack_free(&f->ctx);
        free(f);
        return;
    }
    f->call = NULL;
    f->carrier = NULL;
    f->next = g_s.free_fibers;
    g_s.free_fibers = f;
    g_s.nfree++;
}

/* A new fiber with its stack (no lock needed), or NULL. */
static sl_fiber *new_fiber(void)
{
    sl_fiber *f = calloc(1, sizeof *f);
    if (f && sl_fiber_stack_new(&f->ctx) < 0) {
        free(f);
        f = NULL;
    }
    return f;
}

/* A fiber with a stack for a new input, or NULL. Takes one from the free
 * list (lock held), or makes one after dropping the lock. */
static sl_fiber *get_fiber(void)
{
    sl_fiber *f = g_s.free_fibers;
    if (f) {
        g_s.free_fibers = f->next;
        g_s.nfree--;
        f->next = NULL;
        return f;
    }
    pthread_mutex_unlock(g_s.mu);
    f = new_fiber();
    pthread_mutex_lock(g_s.mu);
    return f;
}

/* Where every fiber starts, on the carrier that entered it (lock held). */
static void fiber_main(void)
{
    sl_fiber *f = g_s.starting;
    sl_fiber_arrived(&f->ctx);
    pthread_mutex_unlock(g_s.mu);
    g_s.ops->run(f->call); /* frees the call */
    pthread_mutex_lock(g_s.mu);
    f->state = F_DONE;
    sl_fiber_leave(&f->ctx, &f->carrier->home, 1);
}

/* Runs f on k until it parks or ends (lock held, and held again after). */
static void run_fiber(carrier *k, sl_fiber *f)
{
    k->running = f;
    k->since = sl_now_ns();
    f->state = F_RUNNING;
    if (k->nfibers > 1) {
        g_s.ran_shared = true;
        wake_monitor(); /* it may hold the others up */
    }
    tl_running = f->call;
    sl_fiber_enter(&k->home, &f->ctx);
    tl_running = NULL;
    k->running = NULL;
    if (f->state == F_DONE) {
        detach(k, f);
        recycle(f);
    }
}

/* Takes the next queued input onto k as a fiber and runs it (lock held,
 * dropped meanwhile). With no stack to be had, the input runs on the
 * carrier's own stack: it then holds this carrier until it ends. */
static void take_input(carrier *k)
{
    sl_fiber *f = get_fiber();
    pthread_mutex_unlock(g_s.mu);
    struct sl_call *c = g_s.ops->take();
    if (c && !f) {
        tl_running = c;
        g_s.ops->run(c);
        tl_running = NULL;
    }
    pthread_mutex_lock(g_s.mu);
    if (!f)
        return;
    if (!c) { /* the reader ran it: keep the stack */
        recycle(f);
        return;
    }
    int r = sl_fiber_prepare(&f->ctx, fiber_main);
    if (r < 0) {
        fprintf(stderr, "sluice: container %d: cannot prepare an input's stack: %s\n", (int)getpid(), strerror(-r));
        _exit(1);
    }
    g_s.starting = f; /* fiber_main's first look, while we hold the lock */
    f->call = c;
    c->fiber = f;
    attach(k, f);
    run_fiber(k, f);
}

static void *carrier_main(void *arg)
{
    carrier *k = arg;
    pthread_setname_np(pthread_self(), "sl-carrier"); /* for top -H, perf */
    pthread_mutex_lock(g_s.mu);
    for (;;) {
        uint64_t next = expire(k, sl_now_ns());
        sl_fiber *f = pop_ready(k);
        if (f) {
            run_fiber(k, f);
            continue;
        }
        if (g_s.pending > 0 && has_room(k)) {
            g_s.pending--;
            take_input(k);
            continue;
        }
        k->sleeping = true;
        if (next) {
            struct timespec at = to_timespec(next);
            pthread_cond_timedwait(&k->cv, g_s.mu, &at);
        } else {
            pthread_cond_wait(&k->cv, g_s.mu);
        }
        k->sleeping = false;
    }
    return NULL;
}

/* ---- the monitor ---- */

/* Moves every fiber of k but the one it runs to free carriers, new ones
 * if need be (lock held). */
static void move_others(carrier *k)
{
    sl_fiber *f = k->fibers;
    while (f) {
        sl_fiber *next = f->next;
        if (f != k->running) {
            carrier *t = free_carrier(k);
            if (!t)
                t = add_carrier();
            if (!t)
                break;
            detach(k, f);
            attach(t, f);
            if (f->state == F_READY)
                push_ready(t, f);
            else
                poke(t); /* to wait for this one's deadline too */
        }
        f = next;
    }
    /* what stayed ready on k is still queued there; rebuild the queue */
    k->ready_head = k->ready_tail = NULL;
    for (sl_fiber *g = k->fibers; g; g = g->next)
        if (g->state == F_READY)
            push_ready(k, g);
}

/* One look at the carriers; true while there is something to watch:
 * queued inputs, a carrier running one fiber while it holds others, or
 * one that did since the last look. After a look that saw none of these
 * the monitor sleeps until run_fiber wakes it. (Watching every carrier
 * that held fibers cost a container whose streams sleep a wake-up every
 * HOG_NS: 5,000 a second for the 100 containers of 10,000 of the seed's
 * streams. Sleeping as soon as nothing ran cost a wake-up per fiber run
 * instead, when a container's streams do not wake together, as after a
 * burst spread over warm containers.) */
static bool watch_carriers(uint64_t now)
{
    bool watch = g_s.pending > 0 || g_s.ran_shared, none_can_take = true;
    g_s.ran_shared = false;
    for (carrier *k = g_s.carriers; k; k = k->next) {
        bool stuck = k->running && now - k->since > HOG_NS;
        if (k->running && k->nfibers > 1)
            watch = true;
        if (stuck && k->nfibers > 1)
            move_others(k);
        if (!stuck && has_room(k))
            none_can_take = false;
    }
    if (g_s.pending > 0) { /* queued inputs: a free carrier takes them, or a new one */
        carrier *k = free_carrier(NULL);
        if (k)
            poke(k);
        else if (none_can_take)
            add_carrier();
    }
    return watch;
}

static void *monitor_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sl-monitor");
    pthread_mutex_lock(g_s.mu);
    for (;;) {
        uint64_t now = sl_now_ns();
        bool watch = watch_carriers(now);
        pthread_mutex_unlock(g_s.mu);
        sl_sched_start_pending();
        pthread_mutex_lock(g_s.mu);
        if (watch) {
            struct timespec at = to_timespec(now + HOG_NS);
            pthread_cond_timedwait(&g_s.monitor_cv, g_s.mu, &at);
        } else {
            g_s.monitor_idle = true;
            pthread_cond_wait(&g_s.monitor_cv, g_s.mu);
            g_s.monitor_idle = false;
        }
    }
    return NULL;
}

int sl_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    int r = pthread_attr_init(&attr);
    if (!r)
        r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (!r)
        r = pthread_attr_setstacksize(&attr, SL_INPUT_THREAD_STACK);
    if (!r)
        r = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return -r;
}

/* ---- the interface (container.h) ---- */

void sl_sched_init(const sl_sched_ops *ops, pthread_mutex_t *out_mu, int max_inputs)
{
    g_s.ops = ops;
    g_s.mu = out_mu;
    /* every input may come to hold a carrier of its own, and the
     * fibers-per-carrier split needs its share on top */
    g_s.max_carriers = max_inputs + max_inputs / FIBERS_PER_CARRIER + MIN_CARRIERS;
    sl_cond_init_monotonic(&g_s.monitor_cv);
}

void sl_sched_notify_locked(int n)
{
    if (n <= 0)
        return;
    g_s.pending += n;
    int woken = 0;
    for (carrier *k = g_s.carriers; k && woken < n; k = k->next)
        if (is_free(k)) {
            poke(k);
            woken++;
        }
    /* Carriers for what the others have no room for, now: left to the
     * monitor, the inputs past a full carrier's 64th waited up to HOG_NS,
     * and a burst of the seed's streams had a third of its inputs 20 ms
     * late. */
    int short_by = g_s.pending - room_for_inputs(sl_now_ns());
    if (g_s.ncarriers < MIN_CARRIERS && short_by <= 0)
        short_by = 1;
    while (short_by > 0 && add_carrier())
        short_by -= FIBERS_PER_CARRIER;
    wake_monitor(); /* in case no carrier is free to take them */
}

void sl_sched_start_pending(void)
{
    pthread_mutex_lock(g_s.mu);
    bool monitor = !g_s.monitor_started && g_s.carriers;
    g_s.monitor_started = g_s.monitor_started || monitor;
    for (;;) {
        carrier *k = g_s.carriers;
        while (k && k->started)
            k = k->next;
        if (!k)
            break;
        k->started = true;
        pthread_mutex_unlock(g_s.mu);
        int r = sl_thread_start(carrier_main, k);
        if (r) {
            fprintf(stderr, "sluice: container %d: cannot start a carrier thread: %s\n", (int)getpid(), strerror(-r));
            _exit(1); /* its fibers would never run: the server fails them with a reason */
        }
        pthread_mutex_lock(g_s.mu);
    }
    pthread_mutex_unlock(g_s.mu);
    if (monitor) {
        int r = sl_thread_start(monitor_main, NULL);
        if (r) {
            fprintf(stderr, "sluice: container %d: cannot start the monitor thread: %s\n", (int)getpid(), strerror(-r));
            _exit(1);
        }
    }
}

int sl_sched_wait_locked(struct sl_call *c, uint64_t deadline)
{
    sl_fiber *f = c->fiber;
    if (deadline && sl_now_ns() >= deadline)
        return SL_ETIMEDOUT;
    if (!f) { /* run on a thread of its own (the reader, or no stack) */
        if (!deadline)
            return pthread_cond_wait(&c->cv, g_s.mu) == 0 ? 0 : SL_EINVAL;
        struct timespec at = to_timespec(deadline);
        return pthread_cond_timedwait(&c->cv, g_s.mu, &at) == ETIMEDOUT ? SL_ETIMEDOUT : 0;
    }
    f->state = F_PARKED;
    f->deadline = deadline;
    f->timed_out = false;
    sl_fiber_leave(&f->ctx, &f->carrier->home, 0);
    return f->timed_out ? SL_ETIMEDOUT : 0;
}

void sl_sched_wake_locked(struct sl_call *c)
{
    sl_fiber *f = c->fiber;
    if (!f)
        pthread_cond_broadcast(&c->cv);
    else if (f->state == F_PARKED)
        make_ready(f, false);
}

struct sl_call *sl_sched_running(void)
{
    return tl_running;
}

void sl_sched_prewarm(int n)
{
    for (int i = 0; i < n; i++) {
        sl_fiber *f = new_fiber();
        if (!f) {
            fprintf(stderr, "sluice: container %d: made %d of %d input stacks ahead\n", (int)getpid(), i, n);
            break;
        }
        /* its first page now, not on the input's first yield */
        ((volatile char *)f->ctx.stack)[f->ctx.stack_size - 1] = 0;
        pthread_mutex_lock(g_s.mu);
        recycle(f);
        pthread_mutex_unlock(g_s.mu);
    }
    pthread_mutex_lock(g_s.mu);
    while (g_s.ncarriers < MIN_CARRIERS && add_carrier())
        ;
    pthread_mutex_unlock(g_s.mu);
    sl_sched_start_pending();
}
