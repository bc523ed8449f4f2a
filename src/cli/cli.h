/* cli.h: the command line (internal). */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stddef.h>

/* Compiles the app source `src` into a shared object in a new temporary
 * directory; writes its path to `so` (n bytes). The compiler's messages go
 * to stderr as it printed them. 0, or -1 when the compile failed. */
int sl_compile_app(const char *src, char *so, size_t n);

/* Removes what sl_compile_app made. */
void sl_compile_cleanup(const char *so);

/* `sluice status ARGS...` (argv after "status"); returns the exit code. */
int sl_status_main(int argc, char **argv);

/* `sluice run APP FUNC [ARGS...]` and `sluice map APP FUNC --range A:B`
 * (argv after the command word); return the exit code. */
int sl_run_main(int argc, char **argv);
int sl_map_main(int argc, char **argv);

#endif
