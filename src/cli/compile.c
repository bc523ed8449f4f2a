/* compile.c: `sluice serve app.c` builds the app with the system compiler. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"

extern char **environ;

/* Where sluice.h is: $SLUICE_INCLUDE, else the source tree we were built from. */
static const char *include_dir(void)
{
    const char *env = getenv("SLUICE_INCLUDE");
    return env && *env ? env : SLUICE_INCLUDE_DIR;
}

int sl_compile_app(const char *src, char *so, size_t n)
{
    if (access(src, R_OK) != 0) {
        fprintf(stderr, "sluice: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    char dir[] = "/tmp/sluice-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "sluice: cannot make a build directory: %s\n", strerror(errno));
        return -1;
    }
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", src);
    snprintf(so, n, "%s/%s.so", dir, basename(base));

    const char *cc = getenv("CC");
    char inc[PATH_MAX + 2];
    snprintf(inc, sizeof inc, "-I%s", include_dir());
    char *argv[] = {(char *)(cc && *cc ? cc : "cc"), "-std=gnu17", "-O2", "-g", "-fPIC", "-shared", "-pthread",
                    "-Wall", "-Wextra", inc, "-o", so, (char *)src, "-lm", NULL};
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (r) {
        fprintf(stderr, "sluice: cannot run the compiler %s: %s\n", argv[0], strerror(r));
        rmdir(dir);
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "sluice: %s did not compile\n", src);
        sl_compile_cleanup(so);
        return -1;
    }
    return 0;
}

void sl_compile_cleanup(const char *so)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", so);
    unlink(so);
    rmdir(dirname(dir));
}
