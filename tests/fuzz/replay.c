/*
 * replay.c: a plain main() for a fuzz target, so that ctest replays the
 * committed corpus with gcc and no libFuzzer (make test, make test SAN=1).
 *
 *     fuzz_replay_<target> DIR_OR_FILE...
 *
 * Every regular file of each directory (in name order, so a failure
 * repeats) goes to LLVMFuzzerTestOneInput once, in a buffer of exactly
 * its size, as libFuzzer would give it (ASan then sees any overread).
 * Fails when a directory holds no input: a lost corpus must not pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads a whole file into a malloc'd block of exactly its size (at least
 * 1 byte, so an empty input still has a valid pointer). NULL on error. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) || st.st_size < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (p && fread(p, 1, n, f) != n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = n;
    return p;
}

/* Runs the target on one file. 0, or -1 if it cannot be read. */
static int run_file(const char *path)
{
    size_t n;
    uint8_t *p = read_file(path, &n);
    if (!p) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    LLVMFuzzerTestOneInput(p, n);
    free(p);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of a directory, sorted: a malloc'd array of malloc'd
 * paths (*count of them), or NULL on error. */
static char **list_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *path = NULL;
        struct stat st;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            path = NULL;
        if (path && (stat(path, &st) || !S_ISREG(st.st_mode))) {
            free(path);
            continue;
        }
        char **grown = path && n == cap ? realloc(paths, (cap = cap ? 2 * cap : 64) * sizeof *paths) : paths;
        if (!path || !grown) {
            free(path);
            while (n)
                free(paths[--n]);
            free(grown ? grown : paths);
            closedir(d);
            return NULL;
        }
        paths = grown;
        paths[n++] = path;
    }
    if (d)
        closedir(d);
    else
        return NULL;
    if (n)
        qsort(paths, n, sizeof *paths, by_name);
    *count = n;
    return paths;
}

/* Replays every file of a directory. The number replayed, or -1. */
static long run_dir(const char *dir)
{
    size_t n = 0;
    char **paths = list_dir(dir, &n);
    if (!paths && n == 0) {
        fprintf(stderr, "%s: no inputs (empty, or unreadable)\n", dir);
        return -1;
    }
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        if (done >= 0 && run_file(paths[i]) == 0)
            done++;
        else
            done = -1;
        free(paths[i]);
    }
    free(paths);
    return done;
}

int main(int argc, char **argv)
{
    int failed = argc < 2;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n = stat(argv[i], &st) ? -1 : S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) ? -1 : 1;
        if (n <= 0)
            failed = 1;
        else
            printf("%s: %ld inputs replayed\n", argv[i], n);
    }
    if (argc < 2)
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
    return failed;
}
