/*
 * zygote_link.c: the server's side of the zygote.
 *
 * The zygote is `sluice-zygote APP.so`, from the server's own directory,
 * with a unix socket on fd 3. Over it we ask for containers (SPAWN) and hear
 * back SPAWNED with the container's socket attached (SCM_RIGHTS), or
 * SPAWN_FAILED, and EXITED for every container that ends. libuv's pipes do
 * not hand out received descriptors in order with the bytes, so the socket
 * is read with recvmsg() from a uv_poll_t.
 *
 * If the zygote dies after start-up it is started again; running
 * containers are unaffected (they talk to the server, not to it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/frame.h"
#include "server/server.h"

#define MAX_FDS_PER_READ 32

typedef struct zygote {
    uv_process_t proc;
    uv_poll_t poll;
    int fd;
    int open_handles;
    sl_buf in;
    int fds[256]; /* received descriptors not yet claimed by a SPAWNED frame */
    int nfds;
    bool retired; /* replaced by a reload: its exit is expected */
    char *app;    /* owned: the shared object it loaded */
} zygote;

sl_functable *sl_zygote_table;
bool sl_zygote_failed;

static zygote *g_z;    /* the zygote containers are asked of */
static zygote *g_next; /* a reload's, until its function table is taken */
static char g_exe[PATH_MAX];
static bool g_stopping;

static zygote *spawn_zygote(const char *app, int *err);

static void on_closed(uv_handle_t *h)
{
    zygote *z = h->data;
    if (--z->open_handles == 0) {
        for (int i = 0; i < z->nfds; i++)
            close(z->fds[i]);
        sl_buf_free(&z->in);
        free(z->app);
        free(z);
    }
}

static void close_link(zygote *z)
{
    if (z->fd < 0)
        return;
    uv_poll_stop(&z->poll);
    uv_close((uv_handle_t *)&z->poll, on_closed);
    close(z->fd);
    z->fd = -1;
}

static int take_fd(zygote *z)
{
    if (z->nfds == 0)
        return -1;
    int fd = z->fds[0];
    memmove(z->fds, z->fds + 1, (size_t)--z->nfds * sizeof(int));
    return fd;
}

static void retire(zygote *z)
{
    z->retired = true;
    if (z->proc.pid > 0)
        kill(z->proc.pid, SIGTERM); /* its containers live on and drain */
}

/* A reload's zygote sent its table: if the pool takes it, it becomes the
 * zygote; if not, it goes and the old build keeps serving. */
static int take_reload(zygote *z, const sl_frame *f)
{
    sl_functable *t;
    int r = sl_functable_decode(f->payload, f->len, &t);
    if (r)
        return r;
    g_next = NULL;
    if (sl_pool_reload(t)) {
        free(t);
        sl_log("reload failed: still serving the previous build");
        retire(z);
        return 0;
    }
    zygote *old = g_z;
    g_z = z;
    if (old)
        retire(old);
    sl_log("reloaded %s (%u functions)", z->app, t->count);
    return 0;
}

static int on_frame(zygote *z, const sl_frame *f)
{
    uint32_t a, b;
    switch (f->type) {
    case SL_FRAME_FUNCTABLE:
        if (z == g_next)
            return take_reload(z, f);
        if (sl_zygote_table)
            return 0; /* a restarted zygote: same app, same table */
        return sl_functable_decode(f->payload, f->len, &sl_zygote_table);
    case SL_FRAME_SPAWNED: {
        if (sl_pair_decode(f->payload, f->len, &a, &b))
            return -EBADMSG;
        int fd = take_fd(z);
        if (fd < 0)
            return -EBADMSG;
        sl_pool_on_spawned(a, (int)b, fd);
        return 0;
    }
    case SL_FRAME_SPAWN_FAILED:
        if (sl_pair_decode(f->payload, f->len, &a, &b))
            return -EBADMSG;
        sl_pool_on_spawn_failed(a, (int)b);
        return 0;
    case SL_FRAME_EXITED: {
        sl_exit_info e;
        if (sl_exited_decode(f->payload, f->len, &e))
            return -EBADMSG;
        sl_pool_on_exited(&e);
        return 0;
    }
    default:
        return -EBADMSG;
    }
}

static void keep_fds(zygote *z, struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (z->nfds < (int)(sizeof z->fds / sizeof z->fds[0]))
                z->fds[z->nfds++] = fd;
            else
                close(fd);
        }
    }
}

/* Reads what is there; 0, or -1 when the link is finished. */
static int read_some(zygote *z)
{
    for (;;) {
        if (sl_buf_reserve(&z->in, 16384))
            return -1;
        struct iovec iov = {z->in.data + z->in.len, z->in.cap - z->in.len};
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_READ)];
        } cm;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.space,
                             .msg_controllen = sizeof cm.space};
        ssize_t n = recvmsg(z->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        if (n == 0)
            return -1;
        keep_fds(z, &msg);
        z->in.len += (size_t)n;
        size_t off = 0;
        sl_frame f;
        long k;
        while ((k = sl_frame_parse(z->in.data + off, z->in.len - off, &f)) > 0) {
            off += (size_t)k;
            if (on_frame(z, &f)) {
                sl_log("the zygote sent a bad frame (type %u)", f.type);
                return -1;
            }
        }
        sl_buf_consume(&z->in, off);
        if (k < 0)
            return -1;
    }
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    zygote *z = p->data;
    if (status < 0 || read_some(z) < 0) {
        close_link(z);
        if (z->proc.pid > 0)
            kill(z->proc.pid, SIGKILL); /* the exit callback restarts it */
    }
}

static void on_zygote_exit(uv_process_t *proc, int64_t status, int sig)
{
    zygote *z = proc->data;
    close_link(z);
    uv_close((uv_handle_t *)proc, on_closed);
    if (z == g_next) {
        g_next = NULL;
        sl_log("reload failed: the new build did not load (status %d); still serving the previous one", (int)status);
        return;
    }
    if (g_z != z || z->retired || g_stopping)
        return;
    g_z = NULL;
    if (!sl_zygote_table) {
        sl_zygote_failed = true; /* it never loaded the app: serve fails */
        return;
    }
    sl_log("the zygote exited (status %d, signal %d); starting another", (int)status, sig);
    int err;
    g_z = spawn_zygote(z->app, &err);
    if (!g_z)
        sl_log("cannot restart the zygote: %s; no new containers can start", uv_strerror(err));
    sl_pool_on_zygote_lost();
}

static zygote *spawn_zygote(const char *app, int *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        *err = -errno;
        return NULL;
    }
    zygote *z = calloc(1, sizeof *z);
    if (!z || !(z->app = strdup(app))) {
        free(z);
        close(sv[0]);
        close(sv[1]);
        *err = -ENOMEM;
        return NULL;
    }
    char *args[] = {g_exe, z->app, NULL};
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = 1},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
        {.flags = UV_INHERIT_FD, .data.fd = sv[1]},
    };
    uv_process_options_t o = {.exit_cb = on_zygote_exit, .file = g_exe, .args = args, .stdio_count = 4, .stdio = stdio};
    z->proc.data = z;
    z->poll.data = z;
    int r = uv_spawn(sl_loop, &z->proc, &o);
    close(sv[1]);
    if (r) {
        close(sv[0]);
        free(z->app);
        free(z);
        *err = r;
        return NULL;
    }
    z->open_handles = 1;
    z->fd = sv[0];
    r = uv_poll_init(sl_loop, &z->poll, z->fd);
    if (!r) {
        z->open_handles++;
        r = uv_poll_start(&z->poll, UV_READABLE, on_readable);
    }
    if (r) {
        if (z->open_handles == 2)
            uv_close((uv_handle_t *)&z->poll, on_closed);
        close(z->fd);
        z->fd = -1;
        z->retired = true;
        kill(z->proc.pid, SIGKILL); /* its exit callback frees z */
        *err = r;
        return NULL;
    }
    return z;
}

/* Sets g_exe to sluice-zygote beside this executable. */
static int find_zygote_exe(void)
{
    static const char name[] = "sluice-zygote";
    ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
    if (n < 0)
        return -errno;
    g_exe[n] = '\0';
    char *slash = strrchr(g_exe, '/');
    size_t dir = slash ? (size_t)(slash - g_exe) + 1 : 0;
    if (dir + sizeof name > sizeof g_exe)
        return -ENAMETOOLONG;
    memcpy(g_exe + dir, name, sizeof name);
    return access(g_exe, X_OK) == 0 ? 0 : -errno;
}

int sl_zygote_start(const char *app_so)
{
    int r = find_zygote_exe();
    if (r) {
        fprintf(stderr, "sluice: no runnable %s: %s\n", g_exe, strerror(-r));
        return r;
    }
    int err = 0;
    g_z = spawn_zygote(app_so, &err);
    return g_z ? 0 : err;
}

int sl_zygote_reload(const char *app_so)
{
    if (g_next)
        retire(g_next); /* a newer build supersedes one still loading */
    int err = 0;
    g_next = spawn_zygote(app_so, &err);
    return g_next ? 0 : err;
}

int sl_zygote_spawn(uint32_t container_id, uint32_t fn_index, const char *gpus)
{
    if (!g_z || g_z->fd < 0)
        return -EPIPE;
    sl_buf payload = {0}, frame = {0};
    int r = sl_spawnreq_encode(&payload, container_id, fn_index, gpus);
    if (!r)
        r = sl_frame_append(&frame, SL_FRAME_SPAWN, 0, payload.data, payload.len);
    size_t off = 0;
    while (!r && off < frame.len) {
        ssize_t k = send(g_z->fd, frame.data + off, frame.len - off, MSG_NOSIGNAL);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k > 0)
            off += (size_t)k;
    }
    sl_buf_free(&payload);
    sl_buf_free(&frame);
    return r;
}

void sl_zygote_stop(void)
{
    g_stopping = true;
    if (g_z && g_z->proc.pid > 0)
        kill(g_z->proc.pid, SIGTERM);
}
