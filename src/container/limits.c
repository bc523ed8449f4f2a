/*
 * limits.c: a function's cpu and memory options, enforced on its containers.
 *
 * Where the machine has a writable cgroup v2 hierarchy with the memory and
 * cpu controllers, each container gets a cgroup with memory.max and
 * cpu.max. Otherwise memory is bounded with RLIMIT_DATA (which counts the
 * heap and private writable mappings, not reserved address space, so
 * threads' arenas don't trip it) and cpu is not enforced. The server
 * reports which applied in /_sluice/status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int r = fputs(text, f) < 0 ? -EIO : 0;
    if (fclose(f) != 0 && !r)
        r = -errno;
    return r;
}

/* Whether the cgroup v2 root delegates the controller `name` to children. */
static bool cgroup2_controller(const char *name)
{
    char buf[512] = "";
    FILE *f = fopen(CGROUP_ROOT "/cgroup.subtree_control", "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
        if (strcmp(tok, name) == 0)
            return access(CGROUP_ROOT "/cgroup.procs", W_OK) == 0;
    return false;
}

const char *sl_limits_memory_mechanism(void)
{
    return cgroup2_controller("memory") ? "cgroup v2 memory.max" : "rlimit (RLIMIT_DATA)";
}

const char *sl_limits_cpu_mechanism(void)
{
    return cgroup2_controller("cpu") ? "cgroup v2 cpu.max" : "not enforced (no cgroup v2 cpu controller)";
}

/* Puts this process in a cgroup of its own under the root. */
static int join_cgroup(double cpu, int memory_mb)
{
    char dir[128], path[160], val[64];
    snprintf(dir, sizeof dir, CGROUP_ROOT "/sluice-%d", (int)getpid());
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    int r = 0;
    if (memory_mb > 0 && cgroup2_controller("memory")) {
        snprintf(path, sizeof path, "%s/memory.max", dir);
        snprintf(val, sizeof val, "%lld", (long long)memory_mb * 1024 * 1024);
        r = write_file(path, val);
    }
    if (!r && cpu > 0 && cgroup2_controller("cpu")) {
        snprintf(path, sizeof path, "%s/cpu.max", dir);
        snprintf(val, sizeof val, "%lld 100000", (long long)(cpu * 100000));
        r = write_file(path, val);
    }
    if (!r) {
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        snprintf(val, sizeof val, "%d", (int)getpid());
        r = write_file(path, val);
    }
    return r;
}

int sl_limits_apply(double cpu, int memory_mb)
{
    if (cpu <= 0 && memory_mb <= 0)
        return 0;
    if ((memory_mb > 0 && cgroup2_controller("memory")) || (cpu > 0 && cgroup2_controller("cpu")))
        return join_cgroup(cpu, memory_mb);
    if (memory_mb > 0) {
        rlim_t bytes = (rlim_t)memory_mb * 1024 * 1024;
        struct rlimit rl = {bytes, bytes};
        if (setrlimit(RLIMIT_DATA, &rl) < 0)
            return -errno;
    }
    return 0;
}
