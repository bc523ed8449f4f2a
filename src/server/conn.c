/*
 * conn.c: the clients' TCP connections, read without a pause per request.
 *
 * h2o's HTTP/1 code stops reading a connection while it answers a request
 * (uv_read_stop) and starts again once the answer is written. libuv turns
 * each such pause into epoll_ctl calls: the stop drops the fd's watcher, an
 * event that comes meanwhile (the client's next request) makes libuv take
 * the fd out of epoll (DEL), and the start puts it back (ADD, or ADD then
 * MOD). Under keep-alive load that was two epoll_ctl a request, the
 * server's most frequent syscall (docs/bench.md, "GET and epoll_ctl").
 *
 * So for a client connection the pause is h2o's alone. This file defines
 * uv_read_stop and uv_read_start; the dynamic linker binds every caller,
 * h2o included, to these before libuv's, and other streams go straight on
 * to libuv's (found with dlsym RTLD_NEXT). A stop of a client connection
 * "parks" it: libuv goes on reading, into the connection's own buffer,
 * never into h2o's (the request h2o is answering points into its buffer,
 * which a read could move). A start unparks it. If bytes were parked, they
 * are handed to h2o from the loop's idle phase, in order, through h2o's
 * own callbacks, as libuv would hand a read; until then newer bytes queue
 * behind them. Past PARK_MAX bytes libuv's reading really stops, and the
 * socket keeps the rest; an EOF or error read meanwhile waits for h2o
 * behind the parked bytes.
 *
 * libuv always calls conn_alloc and conn_read, which pass each read on to
 * h2o's callbacks or keep it, so a pause swaps nothing in libuv.
 *
 * Writes cost an epoll_ctl too: after each uv_write, once its queue is
 * empty, libuv re-arms the fd's watcher (a MOD with the same events). So
 * uv_write is defined here as well: for a client connection it first tries
 * uv_try_write, and a write the socket takes whole is finished from the
 * idle phase (or from the flush, right after the writes: server.c), as
 * libuv would finish it from its pending phase. The rest of
 * a partial write, or all of one after an error, goes to libuv's uv_write.
 *
 * Tests: tests/integration/test_probe.sh, "reading on while answering".
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define PARK_FIRST 1024      /* bytes of a connection's first parking buffer */
#define PARK_MAX (16 * 1024) /* parked bytes past which reading really stops */

typedef struct sl_conn {
    uv_tcp_t tcp;          /* first: libuv and h2o know only this */
    int fd;                /* its index in g_conns */
    bool wants;            /* h2o reads (it called start, not stop since) */
    bool polled;           /* libuv reads, into conn_alloc's buffers */
    bool direct;           /* conn_alloc's buffer is h2o's */
    uv_alloc_cb alloc_cb;  /* h2o's callbacks, from its last start */
    uv_read_cb read_cb;
    char *parked;          /* owned: bytes read while h2o paused, not yet h2o's */
    size_t nparked, cap;
    int read_error;        /* read while h2o paused (UV_EOF...), h2o's after the bytes */
    uv_write_t *written;   /* a write to finish from the idle phase */
    uv_write_cb write_cb;
    int write_status;      /* what written gets: 0 or a libuv error */
    sl_list ready;         /* in g_ready: a write to finish, or parked bytes */
} sl_conn;

typedef int (*read_start_fn)(uv_stream_t *, uv_alloc_cb, uv_read_cb);
typedef int (*read_stop_fn)(uv_stream_t *);
typedef int (*write_fn)(uv_write_t *, uv_stream_t *, const uv_buf_t[], unsigned, uv_write_cb);

static read_start_fn libuv_read_start;
static read_stop_fn libuv_read_stop;
static write_fn libuv_write;
static sl_conn **g_conns; /* indexed by fd: the connections that are open */
static size_t g_nconns;
static sl_list g_ready;
static uv_idle_t g_handover;

/* libuv's own uv_read_start, uv_read_stop and uv_write, the ones this
 * file's hide. Returns 0 or UV_ENOSYS. */
static int find_libuv(void)
{
    if (!libuv_write) {
        libuv_read_start = (read_start_fn)dlsym(RTLD_NEXT, "uv_read_start");
        libuv_read_stop = (read_stop_fn)dlsym(RTLD_NEXT, "uv_read_stop");
        libuv_write = (write_fn)dlsym(RTLD_NEXT, "uv_write");
    }
    return libuv_read_start && libuv_read_stop && libuv_write ? 0 : UV_ENOSYS;
}

int sl_conn_init(uv_loop_t *loop)
{
    int r = find_libuv();
    if (r)
        return r;
    sl_list_init(&g_ready);
    return uv_idle_init(loop, &g_handover);
}

/* The connection `s` is, or NULL for any other stream (or one closing). */
static sl_conn *conn_of(uv_stream_t *s)
{
    uv_os_fd_t fd;
    if (s->type != UV_TCP || uv_fileno((uv_handle_t *)s, &fd) != 0 || fd < 0 || (size_t)fd >= g_nconns)
        return NULL;
    sl_conn *c = g_conns[fd];
    return c && &c->tcp == (uv_tcp_t *)s ? c : NULL;
}

static int register_conn(sl_conn *c)
{
    if ((size_t)c->fd >= g_nconns) {
        size_t n = g_nconns ? g_nconns : 1024;
        while (n <= (size_t)c->fd)
            n *= 2;
        sl_conn **grown = realloc(g_conns, n * sizeof *grown);
        if (!grown)
            return UV_ENOMEM;
        memset(grown + g_nconns, 0, (n - g_nconns) * sizeof *grown);
        g_conns = grown;
        g_nconns = n;
    }
    g_conns[c->fd] = c;
    return 0;
}

/* The close callback h2o gets. libuv has closed the fd, which a newer
 * connection may hold by now. A write still to finish is dropped: its
 * request lived in h2o's socket, which h2o has freed (h2o wants no
 * callback after it closes). */
static void free_conn(uv_handle_t *h)
{
    sl_conn *c = (sl_conn *)h;
    if ((size_t)c->fd < g_nconns && g_conns[c->fd] == c)
        g_conns[c->fd] = NULL;
    if (sl_list_linked(&c->ready))
        sl_list_remove(&c->ready);
    free(c->parked);
    free(c);
}

h2o_socket_t *sl_conn_accept(uv_stream_t *listener)
{
    sl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    sl_list_init(&c->ready);
    c->fd = -1;
    if (uv_tcp_init(listener->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    uv_os_fd_t fd;
    int r = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (!r)
        r = uv_fileno((uv_handle_t *)&c->tcp, &fd);
    if (!r) {
        c->fd = fd;
        r = register_conn(c);
    }
    if (r) {
        uv_close((uv_handle_t *)&c->tcp, free_conn);
        return NULL;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    return h2o_uv_socket_create((uv_stream_t *)&c->tcp, free_conn);
}

/* Room at the end of the parking buffer, or none (libuv then reports
 * UV_ENOBUFS). */
static void parking_space(sl_conn *c, uv_buf_t *buf)
{
    if (c->nparked == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : PARK_FIRST;
        char *grown = realloc(c->parked, cap);
        if (!grown) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->parked = grown;
        c->cap = cap;
    }
    *buf = uv_buf_init(c->parked + c->nparked, (unsigned)(c->cap - c->nparked));
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sl_conn *c = (sl_conn *)h;
    c->direct = c->wants && !c->nparked;
    if (c->direct)
        c->alloc_cb(h, suggested, buf);
    else
        parking_space(c, buf);
}

static void stop_polling(sl_conn *c)
{
    libuv_read_stop((uv_stream_t *)&c->tcp);
    c->polled = false;
}

/* libuv stops reading at an error (except UV_ENOBUFS) by itself, and
 * after any but EOF it refuses writes too: libuv expects the reader to
 * close. So an error read while h2o paused is kept for h2o, after the
 * parked bytes. An error can come without a conn_alloc before it (EOF
 * seen with a hang-up), so where it goes is decided now. */
static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sl_conn *c = (sl_conn *)s;
    if (n < 0) {
        stop_polling(c);
        c->direct = c->wants && !c->nparked;
    }
    if (c->direct) {
        c->read_cb(s, n, buf);
        return;
    }
    if (n < 0 && n != UV_ENOBUFS)
        c->read_error = (int)n;
    if (n > 0) {
        c->nparked += (size_t)n;
        if (c->nparked >= PARK_MAX)
            stop_polling(c);
    }
}

static int start_polling(sl_conn *c)
{
    int r = libuv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    c->polled = r == 0;
    return r;
}

/* A write is finished (UV_ECANCELED if the connection is closing, as
 * libuv does), then what was read while h2o paused goes to h2o, for as
 * long as h2o reads: the bytes, a buffer of h2o's at a time, then an
 * error. */
static void hand_over(sl_conn *c)
{
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    if (c->written) {
        uv_write_t *req = c->written;
        c->written = NULL;
        c->write_cb(req, uv_is_closing((uv_handle_t *)s) ? UV_ECANCELED : c->write_status);
    }
    while (c->nparked && c->wants && !uv_is_closing((uv_handle_t *)s)) {
        uv_buf_t buf;
        c->alloc_cb((uv_handle_t *)s, c->nparked, &buf);
        if (!buf.base || !buf.len) {
            c->read_cb(s, UV_ENOBUFS, &buf);
            return;
        }
        size_t n = buf.len < c->nparked ? buf.len : c->nparked;
        memcpy(buf.base, c->parked, n);
        c->nparked -= n;
        memmove(c->parked, c->parked + n, c->nparked);
        c->read_cb(s, (ssize_t)n, &buf);
    }
    if (!c->wants || c->nparked || uv_is_closing((uv_handle_t *)s))
        return;
    int err = c->read_error;
    c->read_error = 0;
    if (!err && !c->polled)
        err = start_polling(c);
    if (err)
        c->read_cb(s, err, &(uv_buf_t){0});
}

void sl_conn_handover(void)
{
    /* take them all first: one that h2o pauses and resumes again within
     * hand_over goes back on g_ready, for the next pass */
    sl_list batch;
    sl_list_init(&batch);
    sl_list_each(it, &g_ready)
    {
        sl_list_remove(it);
        sl_list_push(&batch, it);
    }
    sl_list_each(it, &batch)
    {
        sl_list_remove(it);
        hand_over(sl_container_of(it, sl_conn, ready));
    }
    if (sl_list_empty(&g_ready))
        uv_idle_stop(&g_handover);
}

static void on_handover(uv_idle_t *idle)
{
    (void)idle;
    sl_conn_handover();
}

static void make_ready(sl_conn *c)
{
    if (!sl_list_linked(&c->ready))
        sl_list_push(&g_ready, &c->ready);
}

int uv_read_stop(uv_stream_t *s)
{
    if (find_libuv())
        return UV_ENOSYS;
    sl_conn *c = conn_of(s);
    if (!c)
        return libuv_read_stop(s);
    c->wants = false;
    return 0;
}

int uv_read_start(uv_stream_t *s, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
    if (find_libuv())
        return UV_ENOSYS;
    sl_conn *c = conn_of(s);
    if (!c)
        return libuv_read_start(s, alloc_cb, read_cb);
    if (!alloc_cb || !read_cb)
        return UV_EINVAL;
    c->alloc_cb = alloc_cb;
    c->read_cb = read_cb;
    c->wants = true;
    if (!c->nparked && !c->read_error)
        return c->polled ? 0 : start_polling(c);
    /* older bytes first: newer ones park behind them until hand_over */
    if (!c->polled && !c->read_error && c->nparked < PARK_MAX)
        start_polling(c); /* or hand_over tries again */
    make_ready(c);
    return uv_idle_start(&g_handover, on_handover);
}

/* Finishes a write from the idle phase with `status`. */
static int finish_later(sl_conn *c, uv_write_t *req, uv_write_cb cb, int status)
{
    req->type = UV_WRITE;
    req->handle = (uv_stream_t *)&c->tcp;
    req->cb = cb;
    req->send_handle = NULL;
    c->written = req;
    c->write_cb = cb;
    c->write_status = status;
    make_ready(c);
    return uv_idle_start(&g_handover, on_handover);
}

/* libuv's uv_write, for what uv_try_write left of bufs after `done`
 * bytes. */
static int write_rest(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[], unsigned nbufs, size_t done,
                      uv_write_cb cb)
{
    while (nbufs && done >= bufs[0].len) {
        done -= bufs[0].len;
        bufs++;
        nbufs--;
    }
    uv_buf_t few[8], *rest = nbufs <= 8 ? few : malloc(nbufs * sizeof *rest);
    if (!rest)
        return UV_ENOMEM;
    memcpy(rest, bufs, nbufs * sizeof *rest);
    if (nbufs) {
        rest[0].base += done;
        rest[0].len -= done;
    }
    int r = libuv_write(req, s, rest, nbufs, cb); /* libuv copies the array */
    if (rest != few)
        free(rest);
    return r;
}

/* h2o ignores what uv_write returns, so for a client connection an error
 * (UV_EPIPE after a failed read, say) comes as the callback instead, as
 * libuv reports a failed writev. */
int uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb)
{
    if (find_libuv())
        return UV_ENOSYS;
    sl_conn *c = conn_of(s);
    if (!c || c->written)
        return libuv_write(req, s, bufs, nbufs, cb);
    int r;
    if (uv_stream_get_write_queue_size(s) == 0) {
        size_t total = 0;
        for (unsigned i = 0; i < nbufs; i++)
            total += bufs[i].len;
        int n = uv_try_write(s, bufs, nbufs);
        if (n >= 0 && (size_t)n == total)
            return finish_later(c, req, cb, 0);
        r = n >= 0 ? write_rest(req, s, bufs, nbufs, (size_t)n, cb) : libuv_write(req, s, bufs, nbufs, cb);
    } else {
        r = libuv_write(req, s, bufs, nbufs, cb);
    }
    return r ? finish_later(c, req, cb, r) : 0;
}
