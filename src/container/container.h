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

/* ---- zygote.c ---- */

/* Runs the zygote on control socket `ctl_fd`: loads `app_path`, reports the
 * function table, forks containers on request. Returns an exit code. */
int sl_zygote_main(const char *app_path, int ctl_fd);

/* ---- runtime.c: one container ---- */

/* Serves function `fn_index` on socket `fd` until the server goes away.
 * Never returns. */
_Noreturn void sl_container_main(unsigned fn_index, int fd);

/* One input in flight. `cancelled`, `unacked` and `head_sent` are under the
 * container's output lock (runtime.c); the rest belongs to the call's
 * thread, but `req`, set before it starts. */
struct sl_call {
    uint32_t id;
    struct sl_container *ct;
    sl_request *req;          /* owned; immutable while the call runs */
    pthread_cond_t cv;        /* credit arrived, or cancelled */
    bool cancelled;
    bool head_sent;
    size_t unacked;           /* output bytes not yet credited by the server */
    /* Response head, set before the first yield (call thread only). */
    int status;
    char *content_type;       /* owned; NULL: the function's default */
    sl_header_pair *headers;  /* owned, and so are its strings */
    uint32_t nheaders;
    /* Result (call thread only). */
    char *ret;                /* owned */
    size_t ret_len;
    bool has_ret;
    char *fail_msg;           /* owned */
    /* Strings handed to the app (decoded query params): freed at the end. */
    void **allocs;
    size_t nallocs;
    struct sl_call *next_queued;
};

/* Called by api.c. Each takes ct->mu itself. */
int sl_rt_yield(struct sl_call *c, const void *data, size_t len);
int sl_rt_sleep(struct sl_call *c, double seconds);
bool sl_rt_cancelled(const struct sl_call *c);
/* Keeps `p` (malloc'd) until the call ends. 0 or -ENOMEM (p is freed). */
int sl_rt_keep(struct sl_call *c, void *p);

#endif
