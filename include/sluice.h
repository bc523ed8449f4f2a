/*
 * sluice.h: the one header a sluice app includes.
 *
 * A sluice app is one C file of functions. Each function is declared with
 * SL_FUNCTION (callable by other functions) or SL_WEB_ENDPOINT (also served
 * over HTTP at /<name>). `sluice serve app.c` compiles the file, loads it once
 * in a zygote process, and runs each function in containers forked from it:
 * the server itself never runs app code, so a crash costs one container.
 *
 * The seed's first example, complete:
 *
 *     #include <sluice.h>
 *
 *     static int stream_me(sl_call *c) {
 *         for (int i = 0; i < 10; i++) {
 *             if (sl_yieldf(c, "data: some data %d\n\n", i) < 0)
 *                 return 0;                  // client went away
 *             sl_sleep(c, 0.5);              // wakes early on cancellation
 *         }
 *         return 0;
 *     }
 *     SL_WEB_ENDPOINT(stream_me, .content_type = "text/event-stream");
 *
 * Concurrency: every input runs on a fiber (a stack of its own, 512 KiB)
 * inside its container, on one of a few carrier threads: while it waits in
 * sluice (sl_sleep, a full window, sl_next...) its carrier runs others, so
 * 1,000 sleeping streams need a handful of threads. Blocking code (sleep(),
 * disk, a long computation) keeps its carrier; within about 20 ms the
 * container moves the inputs that shared it to another thread, so it never
 * holds up another stream for long. Such a moved input goes on on another
 * thread: do not keep a thread-local variable's address, or a pthread
 * mutex locked, across a sluice call that waits (docs/limits.md). The
 * server's event loop never runs app code. Up to `max_inputs`
 * inputs share one container (100 by default, 1 for a GPU function); more
 * start more containers, forked in well under a millisecond, up to
 * `max_containers` (100); beyond that, inputs queue in arrival order and
 * wait. Idle containers go after `scaledown_window` (60 s).
 *
 * Errors: every function that can fail returns 0 (or a count) on success and
 * a negative SL_E* code on failure, as libuv does. sl_strerror() names them.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
/* Bumped whenever sl_function_opts or the registration ABI changes. */
#define SL_ABI_VERSION 1

/* ---- error codes: negative errno values ------------------------------- */

#define SL_ECANCELED  (-ECANCELED)   /* the call was cancelled (client gone, timeout) */
#define SL_EINVAL     (-EINVAL)      /* an argument is out of range or malformed */
#define SL_ENOMEM     (-ENOMEM)      /* out of memory */
#define SL_EALREADY   (-EALREADY)    /* too late: e.g. a header after the first yield */
#define SL_ENOENT     (-ENOENT)      /* no such query parameter, header or function */
#define SL_EPIPE      (-EPIPE)       /* the server connection is gone */
#define SL_EMSGSIZE   (-EMSGSIZE)    /* one yield or return larger than SL_MAX_MESSAGE */
#define SL_ETIMEDOUT  (-ETIMEDOUT)   /* a wait ran out of time */
#define SL_EFAILED    (-1000)        /* a function failed (sl_fail, a crash, a timeout) */

/* The largest single yield or return value, in bytes. Larger data is simply
 * yielded in several pieces. */
#define SL_MAX_MESSAGE (16u * 1024u * 1024u)

/* A human-readable name for an SL_E* code (or any negative errno). */
const char *sl_strerror(int err);

/* ---- declaring functions ---------------------------------------------- */

/* One input being processed: passed to your function, valid until it returns.
 * Opaque; use the sl_* accessors. */
typedef struct sl_call sl_call;

/* A function body. Return 0 on success; return a negative code (usually from
 * sl_fail) to fail the call. Whatever you yielded before failing has already
 * been delivered; the client then sees the failure (see "What clients see"). */
typedef int (*sl_fn)(sl_call *c);

/* Options for a function, given as designated initializers in the
 * SL_FUNCTION / SL_WEB_ENDPOINT macro. Every field has a default when left 0. */
typedef struct sl_function_opts {
    int abi;                    /* set by the macros; leave it alone */

    /* Web endpoints only. */
    const char *content_type;   /* default "text/plain; charset=utf-8" */
    const char *method;         /* "GET" (default), "POST", ... or "*" for any */

    /* Concurrency and autoscaling (see the policy at the top). */
    int max_inputs;             /* inputs in flight per container; default 100,
                                   or 1 for a GPU function (one input per GPU) */
    int min_containers;         /* kept warm even when idle; default 0 */
    int max_containers;         /* hard cap; default 100 */
    int buffer_containers;      /* while the function is busy, this many idle
                                   containers are kept ready beyond demand;
                                   default 0 */
                                /* With either of those two set, each of the
                                   function's containers makes its input
                                   stacks (max_inputs, at most 1,000) and
                                   carrier threads while it waits, so a first
                                   burst does not wait for them (about 4 KiB
                                   resident a stack). */
    double scaledown_window;    /* seconds an idle container lives; default 60 */

    /* GPUs: "any", a model ("H100"), or a model and count ("A100:2", "any:2").
     * Each container gets its devices exclusively, named in its
     * CUDA_VISIBLE_DEVICES; a container waits for free devices. The server's
     * inventory comes from nvidia-smi, or is declared with SLUICE_GPUS
     * (e.g. SLUICE_GPUS=H100:2 or fake:1); a request it can never meet
     * stops `sluice serve` with an error. Default: none. */
    const char *gpu;

    /* Resources per container. memory (MiB) is enforced with a cgroup v2
     * memory.max where the machine allows, else RLIMIT_DATA (allocations
     * past it fail); cpu (cores, e.g. 0.5) needs a cgroup v2 cpu controller
     * and is otherwise not enforced. GET /_sluice/status says which
     * applied. Default: no limit. */
    double cpu;
    int memory;

    /* Failures. */
    double timeout;             /* seconds one call may run before it is
                                   cancelled and fails with a timeout error;
                                   default 0: no limit (streams may run on) */
    int retries;                /* times an input is run again when its
                                   container dies under it, with backoff
                                   (0.5 s, then doubling), if nothing of it
                                   reached its caller yet; default 0 */

    /* Lifecycle hooks, run in the container. `enter` runs once when a
     * container starts, before its first input (load a model here); a
     * non-zero return fails the start. `exit` runs once when it shuts down
     * (scale-down or server exit). */
    int (*enter)(void);
    void (*exit)(void);
} sl_function_opts;

/* What the macros register; internal layout, do not use directly. */
typedef struct sl_function_def {
    const char *name;
    sl_fn fn;
    int is_web;                 /* served over HTTP */
    const sl_function_opts *opts;
} sl_function_def;

/* Called by the macros when the app is loaded; not for direct use. */
void sl__register(const sl_function_def *def);

#define SL__DECLARE(fn_, is_web_, ...)                                          \
    static const sl_function_opts sl__opts_##fn_ = {.abi = SL_ABI_VERSION,     \
                                                    __VA_ARGS__};              \
    static const sl_function_def sl__def_##fn_ = {#fn_, fn_, is_web_,          \
                                                  &sl__opts_##fn_};            \
    __attribute__((constructor)) static void sl__register_##fn_(void)          \
    {                                                                          \
        sl__register(&sl__def_##fn_);                                          \
    }

/* Declare `fn` (an sl_fn) as a function other functions can call.
 *     SL_FUNCTION(render, .max_inputs = 1); */
#define SL_FUNCTION(fn, ...) SL__DECLARE(fn, 0, __VA_ARGS__)

/* Declare `fn` as a web endpoint served at /<fn>.
 *     SL_WEB_ENDPOINT(stream_me, .content_type = "text/event-stream"); */
#define SL_WEB_ENDPOINT(fn, ...) SL__DECLARE(fn, 1, __VA_ARGS__)

/* ---- producing output ------------------------------------------------- */

/* Send `len` bytes to the caller now. For a web endpoint the bytes go to the
 * client as soon as the server can write them: nothing is held back to fill a
 * buffer. Flow control: if the client reads more slowly than you yield, this
 * blocks once about 256 KiB are in transit, and resumes as the client reads.
 * Returns 0, or SL_ECANCELED once the client is gone (stop producing then). */
int sl_yield(sl_call *c, const void *data, size_t len);

/* sl_yield of a printf-formatted string. */
int sl_yieldf(sl_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the call's return value (the whole body for an endpoint that yields
 * nothing; its size is then sent as Content-Length). May be called once;
 * the value is sent when the function returns 0. */
int sl_return(sl_call *c, const void *data, size_t len);
int sl_returnf(sl_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record why the call failed and return SL_EFAILED, so a function can end
 * with `return sl_fail(c, "no such video %s", id);`. The message reaches the
 * client (see "What clients see"). */
int sl_fail(sl_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cancellation and time -------------------------------------------- */

/* Sleep up to `seconds`. Returns 0 once the time is up, or SL_ECANCELED at
 * once if the call is (or becomes) cancelled. Use it instead of sleep(3).
 * A sleep of 0.1 s or more ends on the container's nearest millisecond
 * tick, so within 0.5 ms of the time asked: thousands of sleepers then
 * wake, and send, together.
 * A function that ignores cancellation for longer than the server's grace
 * period (default 5 s) has its container killed and replaced. */
int sl_sleep(sl_call *c, double seconds);

/* True once the call is cancelled: the client disconnected or stopped
 * reading past the server's write deadline. */
bool sl_cancelled(const sl_call *c);

/* ---- the HTTP request (web endpoints) --------------------------------- */

/* Strings are NUL-terminated and live until the function returns. */
const char *sl_method(const sl_call *c);      /* "GET", "POST", ... */
const char *sl_path(const sl_call *c);        /* "/stream_me" */
const char *sl_query(const sl_call *c);       /* raw query without '?', or "" */

/* The value of query parameter `name`, percent-decoded; NULL if absent. */
const char *sl_query_param(sl_call *c, const char *name);

/* Query parameter `name` as an integer; `dflt` if absent. Returns
 * SL_EINVAL (and leaves *out unchanged) if present but not an integer. */
int sl_query_int(sl_call *c, const char *name, long long dflt, long long *out);

/* The first request header called `name` (case-insensitive); NULL if absent. */
const char *sl_header(const sl_call *c, const char *name);

/* The request body and its length (0 when there is none). */
const void *sl_body(const sl_call *c, size_t *len);

/* ---- the HTTP response (before the first yield) ------------------------ */

/* Each returns SL_EALREADY once the response has started (after the first
 * yield), and SL_EINVAL for a bad status or a header with CR/LF in it. */
int sl_set_status(sl_call *c, int status);
int sl_set_content_type(sl_call *c, const char *content_type);
int sl_set_header(sl_call *c, const char *name, const char *value);

/* ---- calling other functions ------------------------------------------
 *
 * A function can run another one, in that function's own containers (its
 * own pool, possibly on a GPU), always through the server's scheduler. The
 * seed's second example, a GPU generator streamed through a CPU endpoint:
 *
 *     static int fake_video_render(sl_call *c) {
 *         for (int i = 0; i < 10; i++) {
 *             if (sl_yieldf(c, "data: finished processing some data from GPU %d\n\n", i) < 0)
 *                 return 0;
 *             sl_sleep(c, 1.0);
 *         }
 *         return 0;
 *     }
 *     SL_FUNCTION(fake_video_render, .gpu = "any");
 *
 *     static int hook(sl_call *c) {
 *         return sl_respond(c, sl_spawn(c, "fake_video_render", NULL, 0));
 *     }
 *     SL_WEB_ENDPOINT(hook, .content_type = "text/event-stream");
 *
 * Flow control runs end to end: a callee yields at most about 256 KiB
 * ahead of what its caller has taken with sl_next. Cancellation too: when
 * a call is cancelled (its client left), every call it made is cancelled,
 * and so on down the tree; a caller that returns cancels what it left open.
 */

/* A call this call made (sl_spawn). Opaque; owned by the calling function's
 * call: closed by sl_close, or automatically when the caller returns. */
typedef struct sl_handle sl_handle;

/* Wait without a time limit (the `timeout` of sl_next and sl_wait). */
#define SL_FOREVER (-1.0)

/* Starts function `fn` with `len` argument bytes (the callee reads them with
 * sl_arg) and returns at once. Returns NULL only when out of memory: every
 * other failure (no such function, the callee crashed...) is reported by
 * sl_next / sl_wait on the handle. The handle also iterates the callee's
 * outputs when it is a generator (the seed's `.remote()` of a generator). */
sl_handle *sl_spawn(sl_call *c, const char *fn, const void *arg, size_t len);

/* The callee's next output. Returns 1 and sets *data, *len (valid until the
 * next sl_next/sl_wait/sl_close on this handle); 0 when the callee has
 * returned (its return value: sl_wait); or a negative code:
 *   SL_EFAILED     the callee failed or crashed: sl_handle_error says why
 *   SL_ECANCELED   this call, or the handle, was cancelled
 *   SL_ETIMEDOUT   nothing came within `timeout` seconds (the handle stays
 *                  usable); SL_FOREVER waits without limit */
int sl_next(sl_handle *h, const void **data, size_t *len, double timeout);

/* Waits for the callee to return, passing over any outputs. Returns 0 and
 * sets *data, *len to the return value (valid as for sl_next), or a negative
 * code as sl_next. */
int sl_wait(sl_handle *h, const void **data, size_t *len, double timeout);

/* Cancels the callee (it sees SL_ECANCELED in its yields and sleeps). */
int sl_cancel(sl_handle *h);

/* Why the callee failed, or NULL. Valid until sl_close. */
const char *sl_handle_error(const sl_handle *h);

/* Cancels the callee if it still runs, and frees the handle. */
void sl_close(sl_handle *h);

/* Runs `fn` and waits for its return value: sl_spawn + sl_wait + a copy
 * of the value, kept until your function returns. 0 or a negative code
 * (see sl_next); *out and *out_len may be NULL if the value is not wanted. */
int sl_remote(sl_call *c, const char *fn, const void *arg, size_t len, const void **out, size_t *out_len);

/* Makes handle `h`'s callee this call's response: each of its outputs is
 * yielded as it arrives, its return value becomes the body if it yielded
 * nothing, and its failure becomes this call's (with the reason). Closes `h`
 * and returns what the function should return:
 *     return sl_respond(c, sl_spawn(c, "render", NULL, 0)); */
int sl_respond(sl_call *c, sl_handle *h);

/* The argument bytes this call was given (sl_spawn/sl_remote's `arg`; for
 * an HTTP request, its body, as sl_body). */
const void *sl_arg(const sl_call *c, size_t *len);

/* ---- fan-out: map ------------------------------------------------------
 *
 * One call farms inputs out to another function's containers and streams
 * the results back as they complete. The seed's third example:
 *
 *     static int map_me(sl_call *c) {
 *         return sl_returnf(c, "segment %lld\n", sl_arg_int(c, 0));
 *     }
 *     SL_FUNCTION(map_me);
 *
 *     static int mapped(sl_call *c) {
 *         return sl_respond(c, sl_map(c, "map_me", sl_range(0, 10), NULL));
 *     }
 *     SL_WEB_ENDPOINT(mapped, .content_type = "text/plain");
 *
 * A map is a handle: sl_next gives each input's return value in turn (its
 * yields, if any, are passed over), sl_respond streams them, sl_close
 * cancels what is still running. Inputs are pulled from their source only
 * as room frees up, so a map of any length holds a bounded number of
 * inputs and results at once (see sl_map_opts.window).
 *
 * Batching: a map sends its inputs to the callee's containers in batches
 * and each batch runs its inputs one after another on one thread. The map
 * sizes batches from how long inputs take to run: slow inputs go one per
 * batch (so `window` of them run at once), quick ones up to a thousand per
 * batch, so a map of trivial inputs costs well under a microsecond of
 * overhead per input. Results still stream back one by one as they are
 * ready. If a container dies under a batch, its unfinished inputs are run
 * again (the one that was running, alone), so one crashing input fails
 * only itself.
 *
 * Threads stand in for the seed's asyncio: sl_next blocks only the calling
 * input's thread, never the server or another stream, so a loop over a map
 * is the seed's `async for ... in f.map.aio(...)`, and blocking work before
 * it (the seed's `asyncio.to_thread(split_video, ...)`) is just a call. To
 * wait on several maps or handles at once, use sl_select; to poll one
 * without blocking, sl_next with a timeout of 0.
 */

/* An input source's next input: return 1 and set *data, *len (valid until
 * the next call), 0 when there are no more, or a negative code to fail
 * the map. Called on the map's thread, as the map needs inputs. */
typedef int (*sl_next_input_fn)(void *ud, const void **data, size_t *len);

/* Where a map's inputs come from: sl_range, sl_items, sl_source or
 * sl_outputs. Treat it as opaque. */
typedef struct sl_inputs {
    int kind;                   /* internal: which of the below */
    long long start, stop;      /* sl_range */
    const void *const *items;   /* sl_items */
    const size_t *lens;
    size_t n;
    sl_next_input_fn next;      /* sl_source */
    void *ud;
    sl_handle *from;            /* sl_outputs */
} sl_inputs;

/* The integers start, start+1, ..., stop-1; input i is called with one
 * integer argument (sl_arg_int(c, 0)). */
sl_inputs sl_range(long long start, long long stop);

/* n byte strings (not copied: they must live as long as the map); input i
 * is called with items[i] as its argument bytes (sl_arg). A starmap is a
 * map over typed argument lists (sl_pack), for instance from a source
 * that packs each as the map asks for it:
 *
 *     typedef struct job { const char **names; int i, n; sl_pack *pk; } job;
 *     static int next_args(void *ud, const void **data, size_t *len) {
 *         job *j = ud;
 *         if (j->i == j->n)
 *             return 0;
 *         sl_pack_reset(j->pk);
 *         sl_pack_list(j->pk, 2);            // greet(name, i)
 *         sl_pack_str(j->pk, j->names[j->i]);
 *         sl_pack_int(j->pk, j->i++);
 *         *data = sl_pack_data(j->pk, len);
 *         return 1;
 *     }
 *     ...
 *     sl_handle *m = sl_map(c, "greet", sl_source(next_args, &j), NULL);
 *
 * where greet reads sl_arg_str(c, 0, NULL) and sl_arg_int(c, 1). */
sl_inputs sl_items(const void *const *items, const size_t *lens, size_t n);

/* Inputs produced by a function as the map goes: next(ud, ...) is called
 * whenever the map has room for another input, so an endless or huge
 * source is never read ahead of the window. Each input's bytes are its
 * argument (sl_arg). */
sl_inputs sl_source(sl_next_input_fn next, void *ud);

/* The outputs of another handle (a spawned generator, or another map's
 * results) as inputs, taken as they arrive: a pipeline. The map takes
 * over reading `h` (do not sl_next it yourself); close it after the map.
 * If it fails, so does the map. */
sl_inputs sl_outputs(sl_handle *h);

typedef struct sl_map_opts {
    bool unordered;             /* results in completion order (the seed's
                                   order_outputs=False); default: input order */
    bool return_exceptions;     /* a failed input is an error item: sl_next
                                   returns SL_EFAILED for it, sl_handle_error
                                   names the input, and the map goes on.
                                   Default: the first failure ends the map
                                   (with that error) and cancels the rest */
    int window;                 /* batches running at once, which for slow
                                   inputs is inputs running at once; default
                                   256. Inputs in flight plus results held
                                   stay under max(window, 8192) */
} sl_map_opts;

/* Runs `fn` once per input. `opts` may be NULL (ordered, fail fast).
 * Returns NULL only when out of memory. */
sl_handle *sl_map(sl_call *c, const char *fn, sl_inputs inputs, const sl_map_opts *opts);

/* Runs `fn` once per input for its effects, and waits for them all:
 * 0, or the first failure (SL_EFAILED; the message names the input and is
 * this call's failure reason, as sl_fail). */
int sl_for_each(sl_call *c, const char *fn, sl_inputs inputs);

/* Waits until one of the n handles (calls or maps) has something for
 * sl_next: an output, a result, or its end. NULL entries are skipped, so a
 * finished handle can be closed and its slot set to NULL. Returns its
 * index, or SL_ETIMEDOUT, SL_ECANCELED (this call was cancelled), or
 * SL_EINVAL (no handle at all). */
int sl_select(sl_handle *const *handles, int n, double timeout);

/* ---- typed values: arguments and results ------------------------------
 *
 * Besides raw bytes, a call can take and produce typed values: null, bool,
 * int, double, string, bytes, and lists and maps of them, nested. On the
 * wire a typed value is msgpack. A map over sl_range passes each input a
 * list of one integer; the call API (POST /_sluice/call/<function> with a
 * JSON array) passes its JSON values (an object becomes a map); and a
 * function's typed outputs and return value reach call-API clients, and a
 * web endpoint's own clients, as JSON.
 *
 *     static int greet(sl_call *c) {       // POST [{"name": "ada", "n": 2}]
 *         sl_value who = sl_arg_value(c, 0);
 *         const char *name = sl_value_str(sl_value_get(who, "name"), NULL);
 *         long long n = sl_value_int(sl_value_get(who, "n"));
 *         sl_pack *pk = sl_pack_new();
 *         sl_pack_map(pk, 2);              // then 2 keys and 2 values
 *         sl_pack_str(pk, "hello");  sl_pack_str(pk, name ? name : "nobody");
 *         sl_pack_str(pk, "twice");  sl_pack_int(pk, 2 * n);
 *         int r = sl_return_value(c, pk);  // the client gets
 *         sl_pack_free(pk);                // {"hello": "ada", "twice": 4}
 *         return r;
 *     }
 *
 * Reading never fails loudly: a missing argument, a key that is not there,
 * an index out of range or a value of another type reads as SL_ARG_NONE,
 * 0, false or NULL, so lookups chain without checks in between.
 * sl_arg still gives the raw argument bytes.
 */

/* What a value (or argument i) is. Kinds are only ever appended. */
enum {
    SL_ARG_NONE,      /* no such value (missing, out of range, wrong type) */
    SL_ARG_NULL, SL_ARG_BOOL, SL_ARG_INT, SL_ARG_DOUBLE,
    SL_ARG_STR, SL_ARG_BYTES, SL_ARG_LIST,
    SL_ARG_OTHER,     /* a msgpack type with no accessor (ext) */
    SL_ARG_MAP
};

/* Lists and maps nest at most this deep (msgpack-c's decoder limit):
 * deeper values do not decode (SL_EINVAL), and the call API refuses
 * deeper JSON arguments (the argument list itself is one level). */
#define SL_VALUE_MAX_DEPTH 32

/* A read-only view of one typed value. Small: pass it by value. A value
 * read from another one (an element, a map entry) lives as long as the
 * value it was read from. The fields are internal. */
typedef struct sl_value {
    const void *obj_;   /* the decoded value; NULL for SL_ARG_NONE */
    void *doc_;         /* storage sl_value_free releases (decoded roots only) */
} sl_value;

/* The number of typed arguments (0 if the call has none). */
int sl_nargs(sl_call *c);

/* Argument i; SL_ARG_NONE if missing. Owned by the call: valid until the
 * function returns (no sl_value_free needed). */
sl_value sl_arg_value(sl_call *c, int i);

/* Decodes typed bytes (a typed output or return value from sl_next,
 * sl_wait or sl_remote) into *out. The bytes are copied: *out is yours
 * (free it with sl_value_free) and outlives `data`. 0, SL_EINVAL when they
 * are not exactly one msgpack value (truncated, trailing bytes, nested
 * deeper than SL_VALUE_MAX_DEPTH), or SL_ENOMEM; *out is NONE on error. */
int sl_value_decode(const void *data, size_t len, sl_value *out);

/* Frees what sl_value_decode made, and with it every value read from it.
 * Harmless on a value it did not make (an argument, an element, NONE). */
void sl_value_free(sl_value v);

/* SL_ARG_* */
int sl_value_type(sl_value v);

/* An integer (true is 1; a double is truncated); 0 if not a number or bool.
 * Integers beyond long long clamp to LLONG_MAX. */
long long sl_value_int(sl_value v);

/* A double (integers convert); 0 if not a number. */
double sl_value_double(sl_value v);

/* True only for a boolean true. */
bool sl_value_bool(sl_value v);

/* A string, or bytes, NUL-terminated (bytes may hold NULs: *len, if not
 * NULL, tells where they end); NULL otherwise. Lives as long as v. */
const char *sl_value_str(sl_value v, size_t *len);

/* The elements of a list or the entries of a map; 0 for anything else. */
size_t sl_value_len(sl_value v);

/* Element i of a list; NONE if v is not a list or i >= sl_value_len. */
sl_value sl_value_at(sl_value v, size_t i);

/* The value under string key `key` in a map (the first, if repeated);
 * NONE if v is not a map or has no such key. A linear scan. */
sl_value sl_value_get(sl_value v, const char *key);

/* Entry i of a map: its value, and its key in *key (if not NULL); NONE
 * (both) if v is not a map or i >= sl_value_len. */
sl_value sl_value_entry(sl_value v, size_t i, sl_value *key);

/* Shorthands: sl_value_int(sl_arg_value(c, i)) and so on. Argument i as
 * an integer, a double, a string or bytes (valid until the function
 * returns; NULL if it is neither), or its kind (SL_ARG_*). */
long long sl_arg_int(sl_call *c, int i);
double sl_arg_double(sl_call *c, int i);
const char *sl_arg_str(sl_call *c, int i, size_t *len);
int sl_arg_type(sl_call *c, int i);

/* A builder of one typed value, to return, yield, or pass as typed
 * arguments (sl_spawn(c, "f", data, len) with a list from sl_pack_data).
 * Write one value: a scalar, or a list header then its n elements, or a
 * map header then n key/value pairs (keys: strings, for JSON clients and
 * sl_value_get); lists and maps nest. Opaque; owned by whoever called
 * sl_pack_new, until sl_pack_free. */
typedef struct sl_pack sl_pack;

/* NULL when out of memory. */
sl_pack *sl_pack_new(void);
void sl_pack_free(sl_pack *pk);
/* Empties it, to build the next value in the same memory. */
void sl_pack_reset(sl_pack *pk);

/* Each appends one value (or a header) and returns 0, or the builder's
 * first error, which sticks until sl_pack_reset: SL_ENOMEM, or SL_EINVAL
 * for a value beyond the one being built, a string, bytes, list or map
 * longer than 2^32 - 1, a NULL pointer with a length, or a NONE value. */
int sl_pack_nil(sl_pack *pk);
int sl_pack_bool(sl_pack *pk, bool v);
int sl_pack_int(sl_pack *pk, long long v);
int sl_pack_double(sl_pack *pk, double v);
int sl_pack_str(sl_pack *pk, const char *s);                /* NUL-terminated */
int sl_pack_strn(sl_pack *pk, const char *s, size_t len);   /* UTF-8 text */
int sl_pack_bytes(sl_pack *pk, const void *p, size_t len);  /* JSON: {"hex": ...} */
int sl_pack_list(sl_pack *pk, size_t n);                    /* then n values */
int sl_pack_map(sl_pack *pk, size_t n);                     /* then n keys and values */
/* A copy of a value read with sl_value (an argument, say). */
int sl_pack_value(sl_pack *pk, sl_value v);

/* The msgpack bytes of the finished value (valid until the builder is
 * changed or freed); NULL, and *len 0, while the value is incomplete or
 * after an error. */
const void *sl_pack_data(const sl_pack *pk, size_t *len);

/* sl_return and sl_yield of the builder's value, marked typed: a call-API
 * client gets it as JSON, a caller (sl_next, sl_wait, sl_remote) its
 * msgpack bytes for sl_value_decode; a web endpoint's own HTTP client its
 * JSON text and a newline (on an event stream, a `data:` event of the
 * JSON), beside any raw bytes yielded as they are. The bytes are copied, so the
 * builder can be reset or freed at once. As sl_return / sl_yield, or SL_EINVAL when the
 * value is incomplete, or the builder's error. */
int sl_return_value(sl_call *c, const sl_pack *pk);
int sl_yield_value(sl_call *c, const sl_pack *pk);

/* ---- what clients see --------------------------------------------------
 *
 * - Bytes are flushed as they are yielded, over HTTP/1.1 (chunked) and HTTP/2.
 *   The status and headers go with the first yield (or the first keep-alive
 *   ping of an event stream).
 * - text/event-stream responses get Cache-Control: no-cache and
 *   X-Accel-Buffering: no, and a ": ping" comment after 15 s without output.
 * - A response that only returns (no yields) gets a Content-Length.
 * - Failure (a negative return, or a crash such as SIGSEGV) before the first
 *   byte: 500 with the reason as body. After it: for an event stream, an
 *   `event: error` carrying the reason, then the stream is cut; otherwise the
 *   body is cut (no final chunk over HTTP/1.1, RST_STREAM over HTTP/2). A
 *   failed stream never ends as if all were well.
 */

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_H */
