/*
 * fiber.h: a stack and a saved context to run one input on (internal).
 *
 * Pure mechanism, no scheduling: sched.c decides what runs where. A fiber
 * is entered from a carrier thread with sl_fiber_enter and leaves with
 * sl_fiber_leave. On x86-64 and AArch64 a switch saves and loads the
 * callee-saved registers and nothing else (fiber.c); elsewhere it is
 * ucontext's swapcontext, which also makes a system call for the signal
 * mask.
 */
#ifndef SL_FIBER_H
#define SL_FIBER_H

#include <stddef.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define SL_FIBER_ASM 1
#else
#include <ucontext.h>
#endif

/* Where a switch left a thread of execution: a carrier's or a fiber's. */
typedef struct sl_fiber_regs {
#ifdef SL_FIBER_ASM
    void *sp; /* its stack pointer, the registers saved below it */
#else
    ucontext_t uc;
#endif
} sl_fiber_regs;

typedef struct sl_fiber_ctx {
    sl_fiber_regs regs;
    void *stack;          /* the usable part, above the guard page */
    size_t stack_size;
    void *asan_fake;      /* AddressSanitizer's bookkeeping (sanitized builds) */
    /* The carrier's stack, for AddressSanitizer: set on each enter. */
    const void *from_bottom;
    size_t from_size;
} sl_fiber_ctx;

/* stacks.c: a stack of SL_INPUT_THREAD_STACK bytes below a guard page,
 * so an overflow is a crash, not someone else's memory. 0 or -errno. */
int sl_fiber_stack_new(sl_fiber_ctx *f);
/* Gives its memory back, and its address range for reuse. */
void sl_fiber_stack_free(sl_fiber_ctx *f);
/* Makes the fiber start at fn(), which must never return, on its next
 * enter. 0 or -errno. */
int sl_fiber_prepare(sl_fiber_ctx *f, void (*fn)(void));
/* Switches from the calling carrier (saved in `home`) into the fiber, and
 * returns when the fiber leaves. */
void sl_fiber_enter(sl_fiber_regs *home, sl_fiber_ctx *f);
/* Called on the fiber, first thing after each enter lands in it. */
void sl_fiber_arrived(sl_fiber_ctx *f);
/* Switches from the fiber back to `home`. Returns when the fiber is
 * entered again, unless `finished` (then never). */
void sl_fiber_leave(sl_fiber_ctx *f, sl_fiber_regs *home, int finished);

#endif
