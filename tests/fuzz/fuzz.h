/*
 * fuzz.h: what the fuzz targets share. Each target is one
 * LLVMFuzzerTestOneInput; libFuzzer drives it (make fuzz), and replay.c
 * drives it over the committed corpus in ctest (fuzz_replay_<target>).
 *
 * FUZZ_CHECK is not assert(): the normal build defines NDEBUG, and a
 * broken property must fail the replay there too.
 */
#ifndef SL_TESTS_FUZZ_H
#define SL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort(); /* libFuzzer saves the input as a crash; the replay fails */
}

#define FUZZ_CHECK(cond)                                  \
    do {                                                  \
        if (!(cond))                                      \
            fuzz_fail(__FILE__, __LINE__, #cond);         \
    } while (0)

#endif
