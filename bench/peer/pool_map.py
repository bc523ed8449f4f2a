"""The map peer: Python multiprocessing.Pool(2).imap over N trivial inputs,
each returning "segment i\\n", written out as they arrive (as /mapped does).
The clock starts once the pool's workers are up and two warm-up inputs are back
(bench/run.sh warms sluice's containers the same way before timing /mapped).
Prints {"n": N, "seconds": s, "items_per_s": r} as JSON."""
import json
import sys
import time
from multiprocessing import Pool


def map_me(i):
    return f"segment {i}\n"


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    out = open("/dev/null", "w")
    with Pool(2) as pool:
        for _ in pool.imap(map_me, range(2)):
            pass
        t0 = time.perf_counter()
        count = 0
        for r in pool.imap(map_me, range(n)):
            out.write(r)
            count += 1
        dt = time.perf_counter() - t0
    assert count == n
    print(json.dumps({"n": n, "seconds": round(dt, 3), "items_per_s": round(n / dt)}))
