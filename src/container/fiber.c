/*
 * fiber.c: fiber stacks and switches (see fiber.h). AddressSanitizer must
 * be told of every stack switch, or it takes the fiber's frames for an
 * overflow of the carrier's stack.
 *
 * Why not swapcontext everywhere: it saves and restores the signal mask
 * with a system call each way, two per park and resume of an input, and a
 * system call costs microseconds in a VM. Nothing here changes the signal
 * mask, so the switch keeps only what the C ABI says a call preserves.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "container/fiber.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define ASAN_START(fake, bottom, size) __sanitizer_start_switch_fiber((fake), (bottom), (size))
#define ASAN_FINISH(fake, bottom, size) __sanitizer_finish_switch_fiber((fake), (bottom), (size))
#else
#define ASAN_START(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define ASAN_FINISH(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#endif

#ifdef SL_FIBER_ASM
/* Saves the callee-saved registers on the current stack, stores the stack
 * pointer in *save, loads `load` and restores what it saved there. A new
 * fiber's stack is laid out as if it had switched away just before its
 * first instruction (sl_fiber_prepare). */
void sl_fiber_switch(void **save, void *load);

#if defined(__x86_64__)
/* Frame, from the saved sp up: mxcsr and x87 control word (8 bytes), r15,
 * r14, r13, r12, rbx, rbp, return address. */
__asm__(".text\n"
        ".globl sl_fiber_switch\n"
        ".type sl_fiber_switch,@function\n"
        "sl_fiber_switch:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size sl_fiber_switch, .-sl_fiber_switch\n"
        ".text\n");

static void *initial_frame(void *top, void (*fn)(void))
{
    /* fn is entered by `ret`, as if called: its sp + 8 must be 16-aligned */
    uint64_t *ret = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15) - 2;
    ret[1] = 0; /* fn's own return address: it never returns */
    ret[0] = (uint64_t)(uintptr_t)fn;
    uint64_t *sp = ret - 7;
    memset(sp, 0, 7 * sizeof *sp); /* rbp, rbx, r12..r15: zero */
    uint32_t mxcsr = 0x1F80;       /* the ABI's initial values */
    uint16_t fpucw = 0x037F;
    memcpy(sp, &mxcsr, sizeof mxcsr);
    memcpy((char *)sp + 4, &fpucw, sizeof fpucw);
    return sp;
}
#elif defined(__aarch64__)
/* Frame, 176 bytes from the saved sp: x19..x28, x29 (fp), x30 (lr), d8..d15. */
__asm__(".text\n"
        ".globl sl_fiber_switch\n"
        ".type sl_fiber_switch,%function\n"
        "sl_fiber_switch:\n"
        "  sub sp, sp, #176\n"
        "  stp x19, x20, [sp, #0]\n"
        "  stp x21, x22, [sp, #16]\n"
        "  stp x23, x24, [sp, #32]\n"
        "  stp x25, x26, [sp, #48]\n"
        "  stp x27, x28, [sp, #64]\n"
        "  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  mov x2, sp\n"
        "  str x2, [x0]\n"
        "  mov sp, x1\n"
        "  ldp x19, x20, [sp, #0]\n"
        "  ldp x21, x22, [sp, #16]\n"
        "  ldp x23, x24, [sp, #32]\n"
        "  ldp x25, x26, [sp, #48]\n"
        "  ldp x27, x28, [sp, #64]\n"
        "  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  add sp, sp, #176\n"
        "  ret\n"
        ".size sl_fiber_switch, .-sl_fiber_switch\n"
        ".text\n");

static void *initial_frame(void *top, void (*fn)(void))
{
    uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15) - 22; /* 176 bytes */
    memset(sp, 0, 22 * sizeof *sp);
    sp[11] = (uint64_t)(uintptr_t)fn; /* x30: where `ret` goes */
    return sp;
}
#endif
#endif /* SL_FIBER_ASM */

int sl_fiber_prepare(sl_fiber_ctx *f, void (*fn)(void))
{
    f->asan_fake = NULL;
#ifdef SL_FIBER_ASM
    f->regs.sp = initial_frame((char *)f->stack + f->stack_size, fn);
    return 0;
#else
    if (getcontext(&f->regs.uc) < 0)
        return -errno;
    f->regs.uc.uc_stack.ss_sp = f->stack;
    f->regs.uc.uc_stack.ss_size = f->stack_size;
    f->regs.uc.uc_link = NULL; /* fn never returns: it leaves with finished set */
    makecontext(&f->regs.uc, fn, 0);
    return 0;
#endif
}

static void switch_regs(sl_fiber_regs *save, sl_fiber_regs *load)
{
#ifdef SL_FIBER_ASM
    sl_fiber_switch(&save->sp, load->sp);
#else
    swapcontext(&save->uc, &load->uc);
#endif
}

void sl_fiber_enter(sl_fiber_regs *home, sl_fiber_ctx *f)
{
    void *fake = NULL;
    ASAN_START(&fake, f->stack, f->stack_size);
    switch_regs(home, &f->regs);
    ASAN_FINISH(fake, NULL, NULL);
}

void sl_fiber_arrived(sl_fiber_ctx *f)
{
    ASAN_FINISH(f->asan_fake, &f->from_bottom, &f->from_size);
}

void sl_fiber_leave(sl_fiber_ctx *f, sl_fiber_regs *home, int finished)
{
    ASAN_START(finished ? NULL : &f->asan_fake, f->from_bottom, f->from_size);
    /* a finished fiber saves its registers too: nothing will load them */
    switch_regs(&f->regs, home);
    sl_fiber_arrived(f);
}
