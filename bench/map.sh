#!/usr/bin/env bash
# bench/map.sh [N]: N trivial inputs mapped and streamed to an HTTP client
# (GET /mapped?n=N of examples/map.c, read by curl), beside Python's
# multiprocessing.Pool(2).imap over the same function (bench/peer/pool_map.py).
# Prints items/s for each and the ratio; writes bench/out/map.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
OUT=bench/out
mkdir -p "$OUT"
build/sluice serve examples/map.c --port 0 --quiet >"$OUT/map-server.out" 2>"$OUT/map-server.err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 300); do grep -q '^sluice: ready' "$OUT/map-server.out" && break; sleep 0.1; done
PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/map-server.out" | head -1 | cut -d: -f3)
curl -sf "http://127.0.0.1:$PORT/mapped?n=1000" >/dev/null # containers up, as the peer's pool is
best=
for _ in 1 2 3; do
    t=$( { /usr/bin/time -f %e curl -sf "http://127.0.0.1:$PORT/mapped?n=$N" -o "$OUT/map-body" ; } 2>&1 )
    [ "$(wc -l <"$OUT/map-body")" = "$N" ] || { echo "map.sh: sluice returned $(wc -l <"$OUT/map-body") lines" >&2; exit 1; }
    best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b ? a : b) }')
done
peer=$(/usr/bin/python3 bench/peer/pool_map.py "$N")
ps=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["items_per_s"])' "$peer")
ss=$(awk -v n="$N" -v t="$best" 'BEGIN { printf "%d", n / t }')
{
    echo "# map of $N trivial inputs ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
    echo
    echo "| workload | items/s | ratio |"
    echo "| --- | --- | --- |"
    echo "| sluice: GET /mapped?n=$N streamed to curl (best of 3) | $ss | $(awk -v a="$ss" -v b="$ps" 'BEGIN { printf "%.2fx", a / b }') |"
    echo "| peer: multiprocessing.Pool(2).imap | $ps | 1.00x |"
} | tee "$OUT/map.md"
