/* GPUs, hooks, timeouts and retries, for the integration tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sluice.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "(unset)";
}

static int gpu_env(sl_call *c)
{
    return sl_returnf(c, "%s", env("CUDA_VISIBLE_DEVICES"));
}
SL_FUNCTION(gpu_env, .gpu = "any");

/* The endpoint's own CUDA_VISIBLE_DEVICES, and its GPU callee's. */
static int devices(sl_call *c)
{
    const void *gpu;
    int r = sl_remote(c, "gpu_env", NULL, 0, &gpu, NULL);
    if (r < 0)
        return r;
    return sl_returnf(c, "endpoint=[%s] gpu_function=[%s]\n", env("CUDA_VISIBLE_DEVICES"), (const char *)gpu);
}
SL_WEB_ENDPOINT(devices);

/* Holds its GPU for 1.5 s. */
static int gpu_hold(sl_call *c)
{
    sl_sleep(c, 1.5);
    return sl_returnf(c, "held GPU %s in container %d\n", env("CUDA_VISIBLE_DEVICES"), (int)getpid());
}
SL_WEB_ENDPOINT(gpu_hold, .gpu = "any");

static int on_enter(void)
{
    printf("enter ran in %d\n", (int)getpid());
    return 0;
}

static void on_exit_hook(void)
{
    printf("exit ran in %d\n", (int)getpid());
}

static int hooked(sl_call *c)
{
    return sl_returnf(c, "hooked in %d\n", (int)getpid());
}
SL_WEB_ENDPOINT(hooked, .enter = on_enter, .exit = on_exit_hook, .scaledown_window = 1);

static int refuse(void)
{
    return 7;
}

static int bad_enter(sl_call *c)
{
    return sl_returnf(c, "unreachable\n");
}
SL_WEB_ENDPOINT(bad_enter, .enter = refuse);

static int slow(sl_call *c)
{
    sl_sleep(c, 10);
    return sl_returnf(c, "too late\n");
}
SL_WEB_ENDPOINT(slow, .timeout = 1);

static int slow_stream(sl_call *c)
{
    sl_yieldf(c, "data: started\n\n");
    sl_sleep(c, 10);
    return 0;
}
SL_WEB_ENDPOINT(slow_stream, .content_type = "text/event-stream", .timeout = 1);

/* Crashes on its first run for a given ?key, succeeds on the next. */
static int flaky(sl_call *c)
{
    char path[256];
    const char *key = sl_query_param(c, "key");
    snprintf(path, sizeof path, "/tmp/sluice-flaky-%s", key ? key : "none");
    if (access(path, F_OK) != 0) {
        FILE *f = fopen(path, "w");
        if (f)
            fclose(f);
        raise(SIGSEGV);
    }
    unlink(path);
    return sl_returnf(c, "recovered\n");
}
SL_WEB_ENDPOINT(flaky, .retries = 2);

static int always_crash(sl_call *c)
{
    (void)c;
    raise(SIGSEGV);
    return 0;
}
SL_WEB_ENDPOINT(always_crash, .retries = 2);

/* One container, several inputs: ?crash=1 crashes it after 0.3 s; the
 * others sleep 3 s. Only the crashing call should be blamed. */
static int crash_one(sl_call *c)
{
    if (sl_query_param(c, "crash")) {
        sl_sleep(c, 0.3);
        raise(SIGSEGV);
    }
    sl_sleep(c, 3);
    return sl_returnf(c, "survived\n");
}
SL_WEB_ENDPOINT(crash_one, .max_containers = 1, .max_inputs = 4);

/* Allocates ?mb MiB (and touches it) under a 64 MiB memory limit. */
static int hog(sl_call *c)
{
    long long mb;
    if (sl_query_int(c, "mb", 256, &mb) < 0 || mb < 1)
        return sl_fail(c, "bad mb");
    char *p = malloc((size_t)mb << 20);
    if (!p)
        return sl_fail(c, "allocation of %lld MiB refused", mb);
    for (long long i = 0; i < mb << 20; i += 4096)
        p[i] = 1;
    free(p);
    return sl_returnf(c, "allocated %lld MiB\n", mb);
}
SL_WEB_ENDPOINT(hog, .memory = 64);

/* Kept warm: one container from the start, 50 inputs at a time. */
static int warm(sl_call *c)
{
    sl_sleep(c, 0.5);
    return sl_returnf(c, "warm in %d\n", (int)getpid());
}
SL_WEB_ENDPOINT(warm, .min_containers = 1, .max_inputs = 50);

/* Four warm containers, for how concurrent calls are spread over them. */
static int spread(sl_call *c)
{
    sl_sleep(c, 3);
    return sl_returnf(c, "spread in %d\n", (int)getpid());
}
SL_WEB_ENDPOINT(spread, .min_containers = 4, .max_inputs = 16);
