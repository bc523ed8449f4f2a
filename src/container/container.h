/*
 * container.h: what runs inside the zygote and its containers (internal).
 *
 * The zygote is `sluice` re-executed with the app loaded; it forks one
 * container per request from the server. A container serves one function:
 * its main thread reads frames from the server, each input runs on a thread
 * of its own, and one writer thread sends every output in batches.
 */
#ifndef SL_CONTAINER_H
#define SL_CONTAINER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice.h"
#include "proto/buf.h"
#include "proto/msg.h"

/* ---- registry.c: the app's functions, as its constructors declared them */

/* Number of registered functions, and the i-th one. */
unsigned sl_registry_count(void);
const sl_function_def *sl_registry_get(unsigned i);
/* The i-th function's options with every default applied. */
void sl_registry_info(unsigned i, sl_fninfo *out);
/* Checks the table (names unique, options in range); prints what is wrong
 * to stderr. 0 or -EINVAL. */
int sl_registry_validate(void);

/* ---- limits.c: a function's cpu and memory options ---- */

/* Applies them to the calling (container) process: a cgroup v2 where the
 * machine allows, RLIMIT_DATA for memory otherwise. 0 or -errno. */
int sl_limits_apply(double cpu, int memory_mb);
/* How each is enforced on this machine, for the status document. */
const char *sl_limits_memory_mechanism(void);
const char *sl_limits_cpu_mechanism(void);

/* ---- builtins.c ---- */

/* Adds sluice's own "__" functions to the registry (after the app's). */
void sl_builtins_register(void);

/* ---- zygote.c ---- */

/* Runs the zygote on control socket `ctl_fd`: loads `app_path`, reports the
 * function table, forks containers on request. Returns an exit code. */
int sl_zygote_main(const char *app_path, int ctl_fd);

/* ---- notes.c: crash notes (zygote side) ---- */

/* A zeroed page shared with the next container, or NULL (it then runs
 * without one: its crash goes unattributed). */
volatile uint32_t *sl_note_new(void);
/* Frees a page sl_note_new gave (a fork that failed). */
void sl_note_drop(volatile uint32_t *page);
/* Remembers container `pid`'s page until sl_note_take. */
void sl_note_keep(pid_t pid, volatile uint32_t *page);
/* Reads what container `pid` left on its page into e, and frees the page. */
void sl_note_take(pid_t pid, sl_exit_info *e);
/* In a new container: unmaps every note page but `own` (may be NULL).
 * 0 or -errno. */
int sl_note_keep_only(volatile uint32_t *own);

/* ---- runtime.c: one container ---- */

/* Serves function `fn_index` on socket `fd` until the server goes away.
 * `crash_note` (may be NULL) is two words shared with the zygote, where a
 * fatal signal leaves the id of the call whose thread raised it and, in a
 * map batch, 1 + the input it was running. Never returns. */
_Noreturn void sl_container_main(unsigned fn_index, int fd, volatile uint32_t *crash_note);

/* One input in flight. `cancelled`, `unacked`, `credit_waiters` and
 * `head_sent` are under the container's output lock (runtime.c); the rest
 * belongs to the call's thread, but `req`, set before it starts. */
struct sl_call {
    uint32_t id;
    sl_request *req;          /* owned; immutable while the call runs, but
                                 a batch points req->body at each input */
    bool is_batch;            /* a batch of a map's inputs (proto/batch.h) */
    pthread_cond_t cv;        /* when it runs on a thread's own stack (no
                                 fiber): signalled on credit it waits for,
                                 on cancel, on handle results; sl_sleep
                                 waits on it too */
    bool cancelled;
    unsigned credit_waiters;  /* threads waiting for credit: only then
                                 does a credit frame signal cv */
    bool head_sent;
    size_t unacked;           /* output bytes not yet credited by the server */
    uint64_t last_yield_ns;   /* coarse clock at its last yield (runtime.c) */
    /* Response head, set before the first yield (call thread only). */
    int status;
    char *content_type;       /* owned; NULL: the function's default */
    sl_header_pair *headers;  /* owned, and so are its strings */
    uint32_t nheaders;
    /* Result (call thread only). */
    char *ret;                /* owned */
    size_t ret_len;
    bool has_ret;
    uint8_t ret_flags;        /* SL_FRAME_F_TYPED after sl_return_value */
    char *fail_msg;           /* owned */
    /* Strings handed to the app (decoded query params): freed at the end. */
    void **allocs;
    size_t nallocs, allocs_cap;
    void *args;               /* decoded typed arguments (args.c), or NULL */
    struct sl_handle *handles; /* open handles it made (under the output lock) */
    bool wake_pending;        /* results arrived; sl_handles_wake will signal cv */
    struct sl_call *next_queued;
    /* How it runs (runtime.c, sched.c). */
    struct sl_fiber *fiber;   /* the fiber it runs on; NULL: a thread's own stack */
    bool on_reader;           /* the reader thread runs it (run_inline) */
    bool waited;              /* it waited in sluice: it is not quick */
    uint32_t batch_input;     /* a batch: 1 + the input it runs (crash reports) */
};

/* An output a handle received, waiting for sl_next. */
typedef struct sl_item {
    struct sl_item *next;
    struct sl_handle *from;    /* for a map: the batch call it came from */
    uint8_t type;              /* for a map: CALL_OUTPUT, CALL_RETURN, CALL_ERROR */
    size_t len;
    uint8_t flags;             /* its frame's: SL_FRAME_F_TYPED */
    unsigned char data[];
} sl_item;

/* A call this call made (handles.c). Under the output lock. */
struct sl_handle {
    uint32_t id;               /* unique in this container */
    struct sl_call *owner;
    sl_item *head, *tail;      /* outputs received, not yet taken */
    sl_item *taken;            /* what the last sl_next returned */
    bool done, failed, cancelled;
    char *error;               /* owned */
    char *ret;                 /* owned: the return value */
    size_t ret_len;
    uint8_t ret_flags;         /* its frame's: SL_FRAME_F_TYPED */
    struct sl_handle *prev, *next; /* in the owner's list of handles */
    struct sl_handle *hnext;   /* in its hash bucket (by id) */
    /* Maps (map.c): a map handle owns its state, and its item list holds
     * every frame of its batch calls, in arrival order. */
    struct sl_map *map;        /* owned; non-NULL for a map handle */
    struct sl_handle *map_parent; /* a batch call: the map its frames go to */
    struct sl_batch *batch;    /* a batch call: what it carries (map.c's) */
};

/* ---- sched.c: inputs run as fibers on a few carrier threads ---- */

/* What the scheduler asks of runtime.c. */
typedef struct sl_sched_ops {
    struct sl_call *(*take)(void);  /* the next queued call, or NULL */
    void (*run)(struct sl_call *c); /* runs it to its end (frees it) */
} sl_sched_ops;

/* Sets the scheduler up; out_mu is the output lock every wait and wake
 * holds. At most max_inputs inputs are in flight. */
void sl_sched_init(const sl_sched_ops *ops, pthread_mutex_t *out_mu, int max_inputs);
/* `n` calls were queued (out_mu held): wakes carriers for them, or plans
 * new ones, which sl_sched_start_pending starts (out_mu not held). */
void sl_sched_notify_locked(int n);
void sl_sched_start_pending(void);
/* Waits (out_mu held) until sl_sched_wake_locked(c) or the deadline
 * (CLOCK_MONOTONIC ns; 0: none); a call on a fiber parks it meanwhile.
 * May return early. 0 or SL_ETIMEDOUT. */
int sl_sched_wait_locked(struct sl_call *c, uint64_t deadline);
void sl_sched_wake_locked(struct sl_call *c);
/* The call the calling carrier thread runs now, or NULL. */
struct sl_call *sl_sched_running(void);
/* Makes `n` input stacks and the first carriers ahead (warm containers). */
void sl_sched_prewarm(int n);
/* Starts a detached thread with an input-sized stack. 0 or -errno. */
int sl_thread_start(void *(*fn)(void *), void *arg);
/* A condition variable whose timed waits take CLOCK_MONOTONIC times. */
void sl_cond_init_monotonic(pthread_cond_t *cv);
/* CLOCK_MONOTONIC, in ns. */
uint64_t sl_now_ns(void);

/* ---- runtime.c, for handles.c ---- */

/* The output lock: output, call flow state and handles are under it. */
void sl_rt_lock(void);
/* Releases it, waking the writer if output is waiting. */
void sl_rt_unlock(void);
/* Releases it after writing what is queued from this thread, if nobody is
 * writing: for a frame the thread then waits on (no writer wake-up). */
void sl_rt_unlock_flush(void);
/* Queues a frame for the server (lock held). */
void sl_rt_append_locked(uint8_t type, uint32_t id, const void *p, size_t len);
/* Waits (lock held) until woken by sl_rt_wake_locked or the deadline
 * (NULL: none) passes; may return early. 0 or SL_ETIMEDOUT. */
int sl_rt_wait_locked(struct sl_call *c, const struct timespec *deadline);
/* Wakes the call if it waits (lock held). */
void sl_rt_wake_locked(struct sl_call *c);
/* The CLOCK_MONOTONIC time `seconds` from now. */
void sl_rt_deadline(double seconds, struct timespec *out);

/* ---- handles.c ---- */

/* Starts a batch of map `map`'s inputs (`body`: proto/batch.h) as a call of
 * `fn` (lock not held) and returns its handle, whose frames go to the map;
 * NULL when out of memory. The frame goes with the writer's next batch. */
struct sl_handle *sl_handles_start_batch(struct sl_handle *map, const char *fn, const void *body, size_t len);
/* Credits `bytes` of a handle's output back to its callee (lock held). */
void sl_handles_credit_locked(struct sl_handle *h, size_t bytes);
/* sl_close, with the lock held. */
void sl_handles_close_locked(struct sl_handle *h);
/* Puts a handle made elsewhere (a map) in the list the call's end frees. */
void sl_handles_adopt(struct sl_handle *h);
/* Frees a handle the caller has already unlinked or is releasing. */
void sl_handles_free(struct sl_handle *h);

/* ---- map.c ---- */

/* sl_next / sl_close / readiness of a map handle (lock not held / held). */
int sl_map_next(struct sl_handle *h, const void **data, size_t *len, double timeout);
void sl_map_close(struct sl_handle *h);
bool sl_map_ready_locked(struct sl_handle *h);
void sl_map_free(struct sl_map *m);
/* The flags (SL_FRAME_F_TYPED) of the result sl_next last gave on a map:
 * its child's return frame's, so sl_respond relays it typed if it was. */
uint8_t sl_map_result_flags(const struct sl_handle *h);

/* ---- args.c ---- */

/* Encodes a typed argument list of one integer (caller frees *out). */
int sl_args_encode_int(long long v, void **out, size_t *len);
void sl_args_free(struct sl_call *c);
/* Marks c's decoded arguments stale (the next input of a batch has its
 * own), keeping their memory for it. */
void sl_args_reset(struct sl_call *c);
/* Splits list argument i into one typed argument list per element (an
 * element that is itself a list is taken as the whole argument list), for
 * sl_items; kept until the call ends. 0, SL_EINVAL or SL_ENOMEM. */
int sl_args_split_list(sl_call *c, int i, const void *const **items, const size_t **lens, size_t *n);

/* A CALL_OUTPUT / CALL_RETURN / CALL_ERROR frame (reader thread). */
void sl_handles_on_frame(uint8_t type, uint8_t flags, uint32_t id, const uint8_t *p, size_t len);
/* Wakes the callers those frames were for (reader thread, after a read). */
void sl_handles_wake(void);
/* Frees every handle `c` still holds (lock held): it is ending, and the
 * server cancels what those handles still run. */
void sl_handles_release_locked(struct sl_call *c);

/* Called by api.c. Each takes ct->mu itself. */
int sl_rt_yield(struct sl_call *c, const void *data, size_t len);
/* sl_rt_yield with the OUTPUT frame's flags (SL_FRAME_F_TYPED). */
int sl_rt_yield_flags(struct sl_call *c, uint8_t flags, const void *data, size_t len);
int sl_rt_sleep(struct sl_call *c, double seconds);
bool sl_rt_cancelled(const struct sl_call *c);
/* Keeps `p` (malloc'd) until the call ends. 0 or -ENOMEM (p is freed). */
int sl_rt_keep(struct sl_call *c, void *p);

#endif
