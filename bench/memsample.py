"""memsample.py PID OUT: while PID lives, appends to OUT every 0.5 s a line
"server_rss" (kB, VmRSS of PID); at TREE_AT seconds a line "server_rss
tree_rss" (VmRSS summed over PID and its descendants); and on SIGTERM a
line "server_rss tree_rss tree_pss" (Pss from /proc/N/smaps_rollup, summed
the same way), then it exits. The first line is written at once, so a
caller can wait for it before starting the load (Python's start-up then
does not compete with the load for CPU).

Why so few tree samples: reading 100 containers' /proc files (and Pss
walks each one's page tables under its mmap lock, which a thread being
created waits for) every 0.5 s made the measured streams late: 10,000
streams arriving over 1 s had a p99 lateness of 70 to 120 ms with it
and 20 to 50 ms without, on 2 cores. Even once, at 2.5 s, the Pss walk
took 73 ms of CPU with 10,000 streams open, and a stream's sleeps add up:
an event held back at 2.5 s makes every later one late too. So Pss is read
only when the load has ended (the containers and their threads are still
up then); TREE_AT, when every stream workload has all its streams open and
none has ended (they run 4.5 s), gets only the cheap VmRSS sums. (The
shell loop this replaced also forked a `cat` per process per sample.)"""
import os
import signal
import sys
import time


def tree(pid):
    """PID and its descendants, from every process's parent in /proc/N/stat
    (one read per process: /proc/N/task/T/children would be one per
    thread, 10,000 of them with 10,000 streams open)."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        kids.setdefault(ppid, []).append(name)
    out, todo = [], [str(pid)]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def field_kb(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


TREE_AT = 2.5


def tree_sample(pid, with_pss):
    procs = tree(pid)
    line = f"{field_kb(f'/proc/{pid}/status', 'VmRSS:')} "
    line += str(sum(field_kb(f"/proc/{p}/status", "VmRSS:") for p in procs))
    if with_pss:
        line += " " + str(sum(field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in procs))
    return line + "\n"


def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    tree_at = time.monotonic() + TREE_AT
    with open(out, "w") as f:
        while not stop and os.path.exists(f"/proc/{pid}"):
            if tree_at and time.monotonic() >= tree_at:
                f.write(tree_sample(pid, False))
                tree_at = 0
            else:
                f.write(f"{field_kb(f'/proc/{pid}/status', 'VmRSS:')}\n")
            f.flush()
            time.sleep(0.5)
        if os.path.exists(f"/proc/{pid}"):
            f.write(tree_sample(pid, True))


if __name__ == "__main__":
    main()
