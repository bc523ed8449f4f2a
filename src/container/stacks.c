/*
 * stacks.c: the fibers' stacks (see fiber.h), each below a guard page.
 *
 * Stacks are cut from slabs, one mapping each: 2 stacks, then twice as
 * many each time up to MAX_STACKS_PER_SLAB, so a container that runs one
 * input maps two stacks (where RLIMIT_DATA bounds memory, the mapping
 * counts against it whole), and one that runs a hundred, seven slabs. A
 * mapping of its own per stack, and an mprotect() for its guard that split
 * it in two, cost about 9 us an input in a fresh container on the 2-core
 * VM, and a burst of 10,000 of the seed's streams makes 10,000 stacks.
 * The guard is now made with MADV_GUARD_INSTALL (Linux 6.13 and later),
 * which splits nothing, and with mprotect() where the kernel lacks it.
 * A slot gets its guard the first time it is handed out, so a container
 * that runs one input pays for one guard, not a slab's.
 *
 * A fiber's first write is to its stack's top page (sl_fiber_prepare).
 * On the VM bench/ runs on, that page fault cost 17 to 23 us a stack, and
 * 13 to 15 us with the page made first by MADV_POPULATE_WRITE (the rest is
 * the hypervisor's, at the first write), so a stack is handed out with its
 * top page in, where the kernel has MADV_POPULATE_WRITE (Linux 5.14).
 *
 * Every stack is SL_INPUT_THREAD_STACK bytes. Freed stacks are kept
 * (their memory given back with MADV_DONTNEED); sched.c already keeps the
 * stacks of the last 1,024 finished inputs, so few come back here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container/fiber.h"
#include "proto/limits.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; older headers lack it */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define FIRST_STACKS_PER_SLAB 2
#define MAX_STACKS_PER_SLAB 32

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_slab;       /* the newest slab */
static size_t g_slots;     /* its size, in stacks */
static size_t g_fresh;     /* its slots handed out so far */
static void **g_free;      /* freed slab stacks (the usable part) */
static size_t g_nfree, g_free_cap;
static bool g_no_guard_madvise; /* the kernel refused MADV_GUARD_INSTALL */
static bool g_no_populate;      /* the kernel refused MADV_POPULATE_WRITE */

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t slot_size(void)
{
    return page_size() + SL_INPUT_THREAD_STACK;
}

/* Makes the page at p inaccessible. 0 or -errno. */
static int guard(char *p)
{
    if (!g_no_guard_madvise) {
        if (madvise(p, page_size(), MADV_GUARD_INSTALL) == 0)
            return 0;
        if (errno != EINVAL)
            return -errno;
        g_no_guard_madvise = true;
    }
    return mprotect(p, page_size(), PROT_NONE) < 0 ? -errno : 0;
}

/* Faults in the top page of the stack below `top`, where the fiber's
 * first frame goes. 0 or -errno (-ENOMEM: no memory for the page). */
static int populate_top(char *top)
{
    if (g_no_populate)
        return 0;
    if (madvise(top - page_size(), page_size(), MADV_POPULATE_WRITE) == 0)
        return 0;
    if (errno != EINVAL)
        return -errno;
    g_no_populate = true; /* an older kernel: the first write faults it in */
    return 0;
}

/* A slab slot never used before, its guard made (g_mu held). 0 or -errno. */
static int fresh_slot(void **stack)
{
    if (!g_slab || g_fresh == g_slots) {
        size_t slots = !g_slab ? FIRST_STACKS_PER_SLAB
                       : g_slots * 2 < MAX_STACKS_PER_SLAB ? g_slots * 2
                                                           : MAX_STACKS_PER_SLAB;
        void *p = mmap(NULL, slots * slot_size(), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            return -errno;
        g_slab = p; /* the old one is all handed out: its slots live on in g_free */
        g_slots = slots;
        g_fresh = 0;
    }
    char *slot = g_slab + g_fresh * slot_size();
    int r = guard(slot);
    if (r)
        return r;
    g_fresh++;
    *stack = slot + page_size();
    return 0;
}

/* Keeps a stack with no pages for reuse (g_mu held). */
static void keep_free(void *stack)
{
    if (g_nfree == g_free_cap) {
        size_t cap = g_free_cap ? g_free_cap * 2 : 64;
        void **n = realloc(g_free, cap * sizeof *n);
        if (!n)
            return; /* the slot is lost to reuse, not its memory */
        g_free = n;
        g_free_cap = cap;
    }
    g_free[g_nfree++] = stack;
}

int sl_fiber_stack_new(sl_fiber_ctx *f)
{
    pthread_mutex_lock(&g_mu);
    void *stack = NULL;
    int r = 0;
    if (g_nfree)
        stack = g_free[--g_nfree];
    else
        r = fresh_slot(&stack);
    if (!r && (r = populate_top((char *)stack + SL_INPUT_THREAD_STACK)) != 0)
        keep_free(stack);
    pthread_mutex_unlock(&g_mu);
    if (r)
        return r;
    f->stack = stack;
    f->stack_size = SL_INPUT_THREAD_STACK;
    return 0;
}

void sl_fiber_stack_free(sl_fiber_ctx *f)
{
    void *stack = f->stack;
    if (!stack)
        return;
    f->stack = NULL;
    /* A stack whose memory cannot be given back is not reused: only a
     * bug (a stack that is not ours) makes this fail. */
    if (madvise(stack, f->stack_size, MADV_DONTNEED) < 0)
        return;
    pthread_mutex_lock(&g_mu);
    keep_free(stack);
    pthread_mutex_unlock(&g_mu);
}
