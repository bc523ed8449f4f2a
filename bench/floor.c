/* floor.c: the floors under sluice's cold start and remote round trip on
 * this machine: fork() of a process that exits at once (reaped), and a
 * one-byte round trip over a unix socketpair between two processes.
 * Prints JSON: {"fork_p50_us":..,"fork_p99_us":..,"rtt_p50_us":..,"rtt_p99_us":..} */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 2000

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("\"%s_p50_us\": %.1f, \"%s_p99_us\": %.1f", name, t[n / 2], name, t[n * 99 / 100]);
}

int main(void)
{
    static double t[N];
    for (int i = 0; i < N; i++) {
        double t0 = now_us();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) < 0) {
            perror("fork");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    printf("{");
    report("fork", t, N);
    fflush(stdout); /* the echo child must not print our buffer again */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("socketpair");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(sv[0]); /* or the read below never sees EOF */
        while (read(sv[1], &c, 1) == 1 && write(sv[1], &c, 1) == 1)
            ;
        _exit(0);
    }
    close(sv[1]);
    fflush(stdout);
    for (int i = 0; i < N; i++) {
        char c = 'x';
        double t0 = now_us();
        if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) {
            perror("ping");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    close(sv[0]);
    waitpid(pid, NULL, 0);
    printf(", ");
    report("rtt", t, N);
    printf("}\n");
    return 0;
}
