/*
 * fiber.h: a stack and a saved context to run one input on (internal).
 *
 * Pure mechanism, no scheduling: sched.c decides what runs where. A fiber
 * is entered from a carrier thread with sl_fiber_enter and leaves with
 * sl_fiber_leave; both are cheap user-space switches (ucontext), so an
 * input that sleeps holds a stack, not a thread.
 */
#ifndef SL_FIBER_H
#define SL_FIBER_H

#include <stddef.h>
#include <ucontext.h>

typedef struct sl_fiber_ctx {
    ucontext_t uc;
    void *stack;          /* the usable part, above the guard page */
    size_t stack_size;
    void *asan_fake;      /* AddressSanitizer's bookkeeping (sanitized builds) */
    /* The carrier's stack, for AddressSanitizer: set on each enter. */
    const void *from_bottom;
    size_t from_size;
} sl_fiber_ctx;

/* Maps a stack of `size` bytes below a guard page, so an overflow is a
 * crash, not someone else's memory. 0 or -errno. */
int sl_fiber_stack_new(sl_fiber_ctx *f, size_t size);
/* Unmaps it. */
void sl_fiber_stack_free(sl_fiber_ctx *f);
/* Makes the fiber start at fn() on its next enter. 0 or -errno. */
int sl_fiber_prepare(sl_fiber_ctx *f, void (*fn)(void));
/* Switches from the calling carrier (saved in `home`) into the fiber, and
 * returns when the fiber leaves. */
void sl_fiber_enter(ucontext_t *home, sl_fiber_ctx *f);
/* Called on the fiber, first thing after each enter lands in it. */
void sl_fiber_arrived(sl_fiber_ctx *f);
/* Switches from the fiber back to `home`. Returns when the fiber is
 * entered again, unless `finished` (then never). */
void sl_fiber_leave(sl_fiber_ctx *f, ucontext_t *home, int finished);

#endif
