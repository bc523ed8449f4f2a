/*
 * server.h: the server process (internal). It never runs app code.
 *
 *   gateway.c      HTTP (h2o): route a request to a call, stream its output
 *   pool.c         functions, their containers, dispatch and autoscaling
 *   zygote_link.c  the zygote: start it, ask it for containers, hear exits
 *   status.c       GET /_sluice/status as JSON
 *   server.c       the event loop, the listener, the flush and sweep timers
 *   conn.c         the clients' connections, read on through h2o's pauses
 */
#ifndef SL_SERVER_H
#define SL_SERVER_H

#define H2O_USE_LIBUV 1
#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "proto/buf.h"
#include "proto/msg.h"
#include "server/call_parse.h" /* sl_api_format */
#include "server/gpu.h"

typedef struct sl_server_config {
    const char *host;
    int port;
    double ping_interval;  /* s of silence before an event stream gets ": ping" */
    double write_timeout;  /* s a client may leave a write unread before it is dropped */
    double cancel_grace;   /* s a cancelled call may run on before its container is killed */
    bool quiet;            /* no per-call log lines */
    size_t reserve_bytes;  /* heap kept faulted in ahead of a burst (reserve.c) */
    /* Reload on change: watch `watch` and, when it changes, call `rebuild`
     * for a new shared object (written to so, n bytes; 0 on success). */
    const char *watch;
    int (*rebuild)(char *so, size_t n);
} sl_server_config;

/* Runs the server for the app at `app_so` until SIGINT/SIGTERM. Returns an
 * exit code. */
int sl_server_run(const sl_server_config *cfg, const char *app_so);

/* ---- shared state ---- */

extern uv_loop_t *sl_loop;
extern sl_server_config sl_cfg;

/* Seconds on the loop's clock (cached per iteration). */
static inline double sl_now(void)
{
    return (double)uv_now(sl_loop) / 1000.0;
}

void sl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keeps `bytes` of free heap above its top, faulted in (reserve.c).
 * Returns 0 or a negative errno code; the server serves without it. */
int sl_reserve_start(size_t bytes);

/* ---- client connections (conn.c) ---- */

/* Once, before the first connection. Returns 0 or a libuv error code. */
int sl_conn_init(uv_loop_t *loop);

/* Accepts a client from `listener`, as an h2o socket that owns it, or NULL
 * (it is closed then). */
h2o_socket_t *sl_conn_accept(uv_stream_t *listener);

/* Finishes the writes the sockets took whole and hands h2o what was read
 * while it paused (the loop's idle phase does it too, for what is left). */
void sl_conn_handover(void);

/* ---- intrusive doubly linked lists ---- */

typedef struct sl_list {
    struct sl_list *prev, *next;
} sl_list;

static inline void sl_list_init(sl_list *l)
{
    l->prev = l->next = l;
}
static inline bool sl_list_empty(const sl_list *l)
{
    return l->next == l;
}
static inline bool sl_list_linked(const sl_list *n)
{
    return n->next != NULL && n->next != n;
}
static inline void sl_list_push(sl_list *l, sl_list *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}
static inline void sl_list_push_front(sl_list *l, sl_list *n)
{
    sl_list_push(l->next, n);
}
static inline void sl_list_remove(sl_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}
#define sl_container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#define sl_list_each(it, head) for (sl_list *it = (head)->next, *it##_next = it->next; it != (head); \
                                    it = it##_next, it##_next = it->next)

/* ---- functions and containers (pool.c) ---- */

typedef struct sl_stream sl_stream;

typedef struct sl_function {
    uint32_t index;
    sl_fninfo info;          /* strings owned by the pool's function table */
    sl_list queue;           /* sl_stream.link: calls waiting for a slot */
    size_t nqueued;
    sl_list containers;      /* sl_container.link */
    int ncontainers;         /* not yet dead */
    int nstarting;
    sl_gpu_request gpu;      /* parsed info.gpu; count 0: none */
    bool removed;            /* gone from the app since a reload */
    int start_failures;      /* containers in a row that died before READY */
    uint64_t calls_started, calls_ok, calls_failed, calls_cancelled, calls_retried;
    uint64_t containers_started, containers_lost, containers_killed;
} sl_function;

typedef enum sl_container_state { SL_CT_STARTING, SL_CT_READY, SL_CT_DRAINING, SL_CT_DEAD } sl_container_state;

typedef struct sl_container {
    sl_list link;            /* in fn->containers */
    sl_list dirty_link;      /* in the pool's flush list while out is non-empty */
    uint32_t id;
    int pid;
    sl_function *fn;
    sl_container_state state;
    uv_pipe_t pipe;
    bool pipe_inited;
    int open_handles;        /* the struct is freed when this reaches 0 */
    sl_buf in, out, wout;    /* read buffer; frames to send; frames being sent */
    bool writing;
    uv_write_t wreq;
    sl_list calls;           /* sl_stream.link: inputs in flight here */
    sl_list handles;         /* sl_stream.caller_link: calls its functions made */
    int inflight;
    double idle_since;
    bool exit_known;
    int exit_status;
    uint32_t crashed_call;   /* the call whose thread crashed it, if known */
    uint32_t crashed_input;  /* 1 + its input, when that call is a map batch */
    const char *kill_reason; /* static string: why the server killed it */
    char gpus[SL_GPU_VISIBLE_MAX]; /* its devices (CUDA_VISIBLE_DEVICES), "" for none */
    bool was_ready;          /* it got as far as READY */
    uv_timer_t reap_timer;   /* waits for the exit status of a dead container */
    bool reap_timer_inited;
} sl_container;

extern sl_function *sl_functions;
extern uint32_t sl_nfunctions;
/* The machine's GPUs, found (or declared) at start; owners are container ids. */
extern sl_gpu_inventory sl_gpus;

/* Takes the function table from the zygote (keeps `t`). Fails, printing
 * why, when a function's options cannot be met (a GPU request beyond the
 * inventory). */
int sl_pool_init(sl_functable *t);
sl_function *sl_pool_find_web(const char *name, size_t len);
/* A new build's function table (keeps `t`): new containers run it, the
 * old ones drain. 0, or a negative code (printed why) if it can't serve. */
int sl_pool_reload(sl_functable *t);
sl_function *sl_pool_find(const char *name);
/* Queues a frame for a container (dropped if it is dead). */
void sl_pool_send(sl_container *ct, uint8_t type, uint32_t call_id, const void *p, size_t len);
/* sl_pool_send with the frame's flags (SL_FRAME_F_TYPED, relayed). */
void sl_pool_send_flags(sl_container *ct, uint8_t type, uint8_t flags, uint32_t call_id, const void *p, size_t len);
/* Queues a stream's call on its function and dispatches what fits. */
void sl_pool_submit(sl_stream *s);
/* A queued stream whose client left: unqueue it. */
void sl_pool_unqueue(sl_stream *s);
/* Appends a CANCEL frame for a stream's call to its container. */
void sl_pool_send_cancel(sl_stream *s);
/* Counts `bytes` of the call's output as consumed; sends them as a CREDIT
 * once SL_CREDIT_STEP have added up (proto/limits.h says why). */
void sl_pool_credit(sl_stream *s, size_t bytes);
/* Kills a container whose call ignored cancellation. */
void sl_pool_kill(sl_container *ct, const char *why);
void sl_pool_flush(void);
void sl_pool_sweep(void);
/* From the zygote link. */
void sl_pool_on_spawned(uint32_t container_id, int pid, int fd);
void sl_pool_on_spawn_failed(uint32_t container_id, int err);
void sl_pool_on_exited(const sl_exit_info *e);
void sl_pool_on_zygote_lost(void);

/* ---- streams (gateway.c) ---- */

struct sl_stream {
    sl_list link;            /* in fn->queue or ct->calls */
    sl_list all_link;        /* every live stream, for the sweep */
    sl_list dirty_link;      /* in the flush list */
    uint32_t call_id;
    sl_function *fn;
    sl_container *ct;        /* NULL while queued */
    h2o_req_t *req;          /* NULL once the request is gone */
    void **guard;            /* in req's pool: points back here while attached */
    h2o_generator_t gen;
    sl_head *head;           /* owned; NULL until the HEAD frame */
    sl_buf pending, inflight;
    size_t pending_credit, inflight_credit; /* container bytes in each */
    size_t uncredited;       /* bytes of its call consumed, not yet credited
                                (< SL_CREDIT_STEP: sl_pool_credit) */
    bool is_sse, started, sending, done, failed, in_send, cancelled, error_sent;
    sl_api_format format;    /* SL_API_RAW unless called through the call API */
    bool detached;           /* spawned through the call API: no client */
    bool json_items;         /* the call API's JSON document has its outputs array open */
    char *error;             /* owned: why the call failed */
    double last_write, send_started, cancel_at, last_peek;
    double run_at;           /* when it was last given to a container */
    double retry_at;         /* > 0 while it waits to run again */
    int attempts;            /* runs that ended with their container's death */
    bool delivered;          /* some output reached its client or caller */
    /* A call made by another function (calls.c): its output goes back to
     * the caller's container instead of to an HTTP client. */
    bool is_call;
    bool is_batch;           /* a batch of a map's inputs (CALL_MAP) */
    bool lost;               /* its container crashed running another call */
    uint32_t crashed_input;  /* a batch: 1 + the input that crashed its container */
    sl_container *caller;    /* NULL once the caller let go of it */
    uint32_t handle;         /* the caller's id for it */
    sl_list caller_link;     /* in caller->handles */
    sl_buf arg;              /* its argument bytes */
    /* Piping (sl_respond): a child's outputs go straight to its parent's
     * client or caller, and credit for them goes back to the child. */
    bool piped;              /* this call's outputs are its parent's */
    sl_stream *piped_child;  /* the child piped into this call, if any */
    /* The call tree: cancelling or ending a call cancels what it made. */
    sl_stream *parent;
    sl_list children;        /* sl_stream.child_link */
    sl_list child_link;
};

int sl_gateway_init(h2o_globalconf_t *conf);
/* The HTTP reason phrase for a status ("Not Found"). */
const char *sl_reason_phrase(int status);
/* Whether a response must have no body: h2o 2.2 writes the bytes it is given
 * even for a HEAD (only h2o_send_inline leaves them out), and an HTTP/1.1
 * client then reads them as the next response. */
static inline bool sl_is_head(const h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}
/* A new stream for a call to `fn`, with a call id; NULL when out of memory. */
sl_stream *sl_stream_alloc(sl_function *fn);
/* Frees the stream if nothing refers to it any more. */
void sl_stream_release(sl_stream *s);
/* Has the next flush look at the stream (and free it when it is finished). */
void sl_stream_mark_dirty(sl_stream *s);
/* Output for the stream's client or caller that did not come from its own
 * container (a piped child's). */
void sl_stream_emit(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len);
/* Where credit for the stream's output goes: a piped child, or itself. */
sl_stream *sl_stream_credit_target(sl_stream *s);
/* Cancels the call and every call it made; never frees. */
void sl_stream_cancel(sl_stream *s, const char *why);
/* The call ran past its function's timeout: fail it, and stop it. */
void sl_stream_timeout(sl_stream *s);
/* A frame for one call, from its container (flags: its SL_FRAME_F_*). 0, or
 * a negative code when the frame is malformed (the pool then kills the
 * container). */
int sl_stream_on_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len);
/* The call ended without a frame saying so (its container died). */
void sl_stream_fail(sl_stream *s, const char *reason);
/* Encodes the INPUT payload of a stream's request. */
int sl_stream_encode_input(sl_stream *s, sl_buf *out);
sl_stream *sl_stream_find(uint32_t call_id);
void sl_gateway_flush(void);
void sl_gateway_sweep(void);
size_t sl_gateway_open_streams(void);

/* ---- calls between functions (calls.c) ---- */

/* Frames a container sends about calls it makes: CALL, CALL_CREDIT,
 * CALL_CANCEL. 0, or a negative code if the frame is malformed. */
int sl_calls_on_caller_frame(sl_container *ct, uint8_t type, uint32_t handle, const uint8_t *p, size_t len);
/* A frame from the callee of a call stream (HEAD, OUTPUT, RETURN, ERROR). */
int sl_calls_on_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len);
int sl_calls_encode_input(sl_stream *s, sl_buf *out);
void sl_calls_cancel_children(sl_stream *parent, const char *why);
/* Forwards output of call stream `s` to its caller (CALL_OUTPUT). */
void sl_calls_forward(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len);
/* A call stream timed out: tell its caller, and let go of it. */
void sl_calls_timed_out(sl_stream *s, const char *why);
/* The caller's container is gone: cancel the calls it made. */
void sl_calls_caller_lost(sl_container *ct);
/* Takes the stream out of the call tree (it is being freed). */
void sl_calls_unlink(sl_stream *s);

/* ---- the call API (call_api.c) ---- */

/* POST /_sluice/call/<name> (or /spawn/<name> when `spawn`): `attach`
 * makes the stream for a request that waits for the call. */
int sl_api_call(h2o_req_t *req, h2o_iovec_t name, sl_stream *(*attach)(sl_function *, h2o_req_t *), bool spawn);
/* GET /_sluice/result/<call id>. */
int sl_api_result(h2o_req_t *req, h2o_iovec_t id);
/* A frame for a spawned call, which has no client: its end is kept. */
int sl_api_detached_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len);
/* Drops expired results. */
void sl_api_sweep(double now);
const char *sl_api_content_type(sl_api_format f);
/* Append an output / the return value / a late failure to s->pending in
 * the stream's format (flags: the frame's; typed values become JSON
 * values). 0 or -ENOMEM. */
int sl_api_output(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len);
int sl_api_return(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len);
int sl_api_error(sl_stream *s, const char *reason);
/* Append an output or return value to a web endpoint's own response: raw
 * bytes as they are; a typed value as its JSON text and a newline, or on
 * an event stream as one `data:` event. 0 or -ENOMEM. */
int sl_api_web_value(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len);
/* Appends one SSE event (`event: <event>` when event is not NULL) whose
 * data is p[0..len), each of its lines a data: line. 0 or -ENOMEM. */
int sl_sse_append(sl_buf *out, const char *event, const uint8_t *p, size_t len);
/* Answers {"error": reason} as application/json (reason as a JSON string, or
 * {"hex": ...} when it is not UTF-8). */
void sl_api_send_error(h2o_req_t *req, int status, const char *reason);

/* ---- the zygote (zygote_link.c) ---- */

int sl_zygote_start(const char *app_so);
/* Starts a zygote for a new build; once its table is taken (sl_pool_reload)
 * it replaces the current one, else it is dropped and the old one stays. */
int sl_zygote_reload(const char *app_so);
/* Asks for a container of function fn_index, with GPUs `gpus` (a
 * CUDA_VISIBLE_DEVICES list, "" for none). */
int sl_zygote_spawn(uint32_t container_id, uint32_t fn_index, const char *gpus);
void sl_zygote_stop(void);
/* Set once the first function table has arrived. */
extern sl_functable *sl_zygote_table;
extern bool sl_zygote_failed;

/* ---- status.c ---- */

/* GET /_sluice/status: a JSON document of functions, containers, counters. */
void sl_status_respond(h2o_req_t *req);

#endif
