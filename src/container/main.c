/*
 * main.c: the zygote executable, `sluice-zygote APP.so`. `sluice serve`
 * starts it from its own directory with the control socket on fd 3
 * (src/server/zygote_link.c); it loads the app and forks its containers.
 */
#include <stdio.h>

#include "container/container.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sluice-zygote APP.so (started by `sluice serve`, its control socket on fd 3)\n");
        return 2;
    }
    return sl_zygote_main(argv[1], 3);
}
