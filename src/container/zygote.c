/*
 * zygote.c: loads the app once and forks a container per SPAWN request.
 *
 * It stays single-threaded (fork copies only the calling thread) and does
 * nothing but load, fork and reap, so a container starts in about the time
 * of a fork. The server is its parent; containers are its children, and it
 * reports their exits (with the wait status: the server tells a client
 * "killed by SIGSEGV") since only a parent can reap them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container.h"
#include "proto/frame.h"

static int g_ctl = -1;
static int g_sigfd = -1;

/* Sends one frame, with `pass_fd` attached when >= 0. 0 or -errno. */
static int send_frame(uint8_t type, uint32_t call_id, const sl_buf *payload, int pass_fd)
{
    sl_buf f = {0};
    int r = sl_frame_append(&f, type, call_id, payload ? payload->data : NULL, payload ? payload->len : 0);
    if (r)
        return r;
    size_t off = 0;
    while (off < f.len) {
        struct iovec iov = {f.data + off, f.len - off};
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } cm;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (pass_fd >= 0 && off == 0) {
            memset(&cm, 0, sizeof cm);
            msg.msg_control = cm.space;
            msg.msg_controllen = sizeof cm.space;
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        ssize_t k = sendmsg(g_ctl, &msg, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        off += (size_t)k;
    }
    sl_buf_free(&f);
    return r;
}

static int send_pair(uint8_t type, uint32_t a, uint32_t b, int pass_fd)
{
    sl_buf p = {0};
    int r = sl_pair_encode(&p, a, b);
    if (!r)
        r = send_frame(type, 0, &p, pass_fd);
    sl_buf_free(&p);
    return r;
}

static int send_functable(void)
{
    unsigned n = sl_registry_count();
    sl_fninfo *fns = calloc(n, sizeof *fns);
    if (!fns)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        sl_registry_info(i, &fns[i]);
    sl_functable t = {n, fns};
    sl_buf p = {0};
    int r = sl_functable_encode(&p, &t);
    if (!r)
        r = send_frame(SL_FRAME_FUNCTABLE, 0, &p, -1);
    sl_buf_free(&p);
    free(fns);
    return r;
}

/* Sets the child's GPUs: exactly its own (none for a CPU container), in
 * nvidia-smi's (PCI) order, which is how the server numbered them. */
static void set_gpu_env(const char *gpus, uint32_t len)
{
    char visible[256];
    snprintf(visible, sizeof visible, "%.*s", (int)len, gpus);
    setenv("CUDA_VISIBLE_DEVICES", visible, 1);
    setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1);
}

static void spawn_container(uint32_t container_id, uint32_t fn_index, const char *gpus, uint32_t gpus_len)
{
    int sv[2];
    if (fn_index >= sl_registry_count()) {
        send_pair(SL_FRAME_SPAWN_FAILED, container_id, (uint32_t)-EINVAL, -1);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        send_pair(SL_FRAME_SPAWN_FAILED, container_id, (uint32_t)-errno, -1);
        return;
    }
    volatile uint32_t *note = sl_note_new();
    fflush(NULL); /* or the child would print our buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        sl_note_drop(note);
        send_pair(SL_FRAME_SPAWN_FAILED, container_id, (uint32_t)-err, -1);
        return;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close(g_ctl);
        close(g_sigfd);
        close(sv[0]);
        int r = sl_note_keep_only(note);
        if (r)
            fprintf(stderr, "sluice: container %d: cannot unmap the other containers' crash notes: %s\n",
                    (int)getpid(), strerror(-r));
        set_gpu_env(gpus, gpus_len);
        /* `top` and `ps -o comm` then show which function a container serves */
        prctl(PR_SET_NAME, sl_registry_get(fn_index)->name);
        sl_container_main(fn_index, sv[1], note);
    }
    close(sv[1]);
    if (note)
        sl_note_keep(pid, note);
    int r = send_pair(SL_FRAME_SPAWNED, container_id, (uint32_t)pid, sv[0]);
    close(sv[0]);
    if (r) {
        kill(pid, SIGKILL); /* the server will never hear of it: don't leave it around */
        fprintf(stderr, "sluice: zygote: cannot hand a container to the server: %s\n", strerror(-r));
    }
}

static void reap_children(void)
{
    struct signalfd_siginfo si;
    while (read(g_sigfd, &si, sizeof si) == sizeof si)
        ;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        sl_buf p = {0};
        sl_exit_info e = {(uint32_t)pid, (uint32_t)status, 0, 0};
        sl_note_take(pid, &e);
        if (sl_exited_encode(&p, &e) == 0)
            send_frame(SL_FRAME_EXITED, 0, &p, -1);
        sl_buf_free(&p);
    }
}

/* Handles what the server sent; 0, or -1 when the zygote should stop. */
static int read_control(sl_buf *in)
{
    if (sl_buf_reserve(in, 4096))
        return -1;
    ssize_t n = read(g_ctl, in->data + in->len, in->cap - in->len);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (n == 0)
        return -1; /* the server is gone */
    in->len += (size_t)n;
    size_t off = 0;
    sl_frame f;
    long k;
    while ((k = sl_frame_parse(in->data + off, in->len - off, &f)) > 0) {
        off += (size_t)k;
        uint32_t cid, fn, gpus_len;
        const char *gpus;
        if (f.type != SL_FRAME_SPAWN || sl_spawnreq_decode(f.payload, f.len, &cid, &fn, &gpus, &gpus_len)) {
            fprintf(stderr, "sluice: zygote: unexpected frame %u from the server\n", f.type);
            return -1;
        }
        spawn_container(cid, fn, gpus, gpus_len);
    }
    sl_buf_consume(in, off);
    return k < 0 ? -1 : 0;
}

int sl_zygote_main(const char *app_path, int ctl_fd)
{
    g_ctl = ctl_fd;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the server */
    if (getppid() == 1)
        return 1;
    if (!dlopen(app_path, RTLD_NOW | RTLD_LOCAL)) {
        fprintf(stderr, "sluice: cannot load the app: %s\n", dlerror());
        return 3;
    }
    if (sl_registry_validate())
        return 3;
    sl_builtins_register();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
        (g_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        perror("sluice: zygote: signalfd");
        return 1;
    }
    int r = send_functable();
    if (r) {
        fprintf(stderr, "sluice: zygote: cannot send the function table: %s\n", strerror(-r));
        return 1;
    }
    sl_buf in = {0};
    for (;;) {
        struct pollfd p[2] = {{g_ctl, POLLIN, 0}, {g_sigfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("sluice: zygote: poll");
            return 1;
        }
        if (p[1].revents)
            reap_children();
        if (p[0].revents && read_control(&in) < 0)
            return 0;
    }
}
