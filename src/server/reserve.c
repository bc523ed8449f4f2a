/*
 * reserve.c: keeps part of the server's heap faulted in ahead of a burst.
 *
 * A burst of streams grows the server's heap by about 11 KiB a stream
 * (mostly h2o's per-connection buffers), and every new page is zeroed by the
 * kernel in a page fault on the event loop's thread, while the requests
 * wait. So before it says it is ready the server asks malloc to keep
 * `bytes` of free heap above its top (M_TOP_PAD, which every trim keeps
 * too), grows the heap once, and faults that space in with
 * MADV_POPULATE_WRITE (which leaves the contents alone). The pages stay the
 * process's own, so a host that takes back a VM's idle free memory cannot
 * take them: 10,000 clients arriving at once on a fresh server went from
 * p99 0.2 to 0.8 s late to under 0.1 s (docs/bench.md).
 *
 * The reserve is asked for on huge pages (MADV_HUGEPAGE; where THP is
 * off the kernel ignores it). On a VM with shadow page tables, as
 * bench/ runs on, the first write to a 4 KiB page costs the hypervisor
 * about 7 us even when the guest has faulted it in, and a burst of
 * 10,000 streams writes some 35,000 of them; on 2 MiB pages the first
 * writes cost next to nothing (docs/bench.md, session 18).
 *
 * Setting M_TOP_PAD also fixes glibc's mmap threshold at 128 KiB (it no
 * longer rises as large blocks are freed): the server's buffers of 128 KiB
 * or more each get their own mapping. No bench row moved with it.
 */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
#endif

/* Below glibc's smallest mmap threshold, so malloc takes it from the heap. */
#define GROW_STEP (64 * 1024)
#define GROW_TRIES 64
#define HUGE ((uintptr_t)2 << 20) /* x86-64's and AArch64's (4 KiB pages) huge page */

/* Grows the heap until its break moves (by at least M_TOP_PAD). Returns the
 * break before the growth, or 0 if it did not move by `bytes`. */
static uintptr_t grow_heap(size_t bytes)
{
    uintptr_t before = (uintptr_t)sbrk(0);
    void *held[GROW_TRIES];
    int n = 0;
    while (n < GROW_TRIES && (uintptr_t)sbrk(0) == before && (held[n] = malloc(GROW_STEP)))
        n++;
    bool grown = (uintptr_t)sbrk(0) - before >= bytes;
    while (n > 0)
        free(held[--n]);
    return grown ? before : 0;
}

int sl_reserve_start(size_t bytes)
{
    if (bytes == 0)
        return 0;
    if (bytes > INT32_MAX)
        return -EINVAL;
    if (mallopt(M_TOP_PAD, (int)bytes) != 1)
        return -ENOTSUP; /* not glibc's malloc: a sanitizer's, say */
    uintptr_t from = grow_heap(bytes);
    if (!from)
        return -ENOMEM;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (from + page - 1) & ~(page - 1), end = (uintptr_t)sbrk(0) & ~(page - 1);
    uintptr_t hstart = (from + HUGE - 1) & ~(HUGE - 1), hend = end & ~(HUGE - 1);
    if (hend > hstart && madvise((void *)hstart, hend - hstart, MADV_HUGEPAGE) != 0 &&
        errno != EINVAL)
        return -errno;
    if (end > start && madvise((void *)start, end - start, MADV_POPULATE_WRITE) != 0)
        return -errno;
    return 0;
}
