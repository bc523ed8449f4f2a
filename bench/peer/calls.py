"""The calls peer: Python's way to run a function in another process and get
its result back, multiprocessing.Pool (default start method: fork on Linux).

  cold start       a new Pool(1) (forks its worker) and its first apply(noop):
                   the time until that first result is back, p50/p99
  warm round trip  apply(noop) on a Pool(1) whose worker is up: p50/p99

These are the analogues of bench/apps/calls_bench.c's /cold (first
sl_remote to a function with no container: a fork from the zygote) and
/warm (sl_remote to a warm no-op function in another container).

  /usr/bin/python3 bench/peer/calls.py COLD_N WARM_N
prints {"cold": {"n", "p50_us", "p99_us", "min_us"}, "warm": {...}} as JSON.
"""
import json
import sys
import time
from multiprocessing import Pool


def noop():
    return b""


def summary(t):
    t = sorted(t)
    n = len(t)
    return {"n": n, "p50_us": round(t[n // 2], 1), "p99_us": round(t[min(n * 99 // 100, n - 1)], 1),
            "min_us": round(t[0], 1)}


def cold(n):
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        pool = Pool(1)
        pool.apply(noop)
        t.append((time.perf_counter() - t0) * 1e6)
        pool.terminate()
        pool.join()
    return summary(t)


def warm(n):
    with Pool(1) as pool:
        pool.apply(noop)
        t = []
        for _ in range(n):
            t0 = time.perf_counter()
            pool.apply(noop)
            t.append((time.perf_counter() - t0) * 1e6)
    return summary(t)


if __name__ == "__main__":
    cold_n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    warm_n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    print(json.dumps({"cold": cold(cold_n), "warm": warm(warm_n)}))
