/*
 * fiber.c: fiber stacks and switches (see fiber.h). AddressSanitizer must
 * be told of every stack switch, or it takes the fiber's frames for an
 * overflow of the carrier's stack.
 */
#include <errno.h>
#include <sys/mman.h>
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

int sl_fiber_stack_new(sl_fiber_ctx *f, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = (size + page - 1) / page * page;
    char *p = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    if (mprotect(p, page, PROT_NONE) < 0) {
        int err = errno;
        munmap(p, size + page);
        return -err;
    }
    f->stack = p + page;
    f->stack_size = size;
    return 0;
}

void sl_fiber_stack_free(sl_fiber_ctx *f)
{
    if (!f->stack)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap((char *)f->stack - page, f->stack_size + page);
    f->stack = NULL;
}

int sl_fiber_prepare(sl_fiber_ctx *f, void (*fn)(void))
{
    if (getcontext(&f->uc) < 0)
        return -errno;
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = f->stack_size;
    f->uc.uc_link = NULL; /* fn never returns: it leaves with finished set */
    f->asan_fake = NULL;
    makecontext(&f->uc, fn, 0);
    return 0;
}

void sl_fiber_enter(ucontext_t *home, sl_fiber_ctx *f)
{
    void *fake = NULL;
    ASAN_START(&fake, f->stack, f->stack_size);
    swapcontext(home, &f->uc);
    ASAN_FINISH(fake, NULL, NULL);
}

void sl_fiber_arrived(sl_fiber_ctx *f)
{
    ASAN_FINISH(f->asan_fake, &f->from_bottom, &f->from_size);
}

void sl_fiber_leave(sl_fiber_ctx *f, ucontext_t *home, int finished)
{
    ASAN_START(finished ? NULL : &f->asan_fake, f->from_bottom, f->from_size);
    if (finished) {
        setcontext(home);
        return; /* not reached: setcontext only returns on failure */
    }
    swapcontext(&f->uc, home);
    sl_fiber_arrived(f);
}
