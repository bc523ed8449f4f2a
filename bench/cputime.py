"""cputime.py OUT CMD [ARGS...]: runs CMD (stdin/stdout/stderr inherited) and
writes "wall_s user_s sys_s" to OUT, CPU from wait4()'s rusage (microseconds,
where /usr/bin/time prints hundredths: too coarse for a 0.15 s firehose).
Exits with CMD's status. bench/run.sh wraps every load client in it."""
import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write(f"{wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
