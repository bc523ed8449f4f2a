#!/usr/bin/env bash
# bench/calls.sh [--quick]: calls between functions, against their floors.
#
#   cold start      first sl_remote to a function with no container (a fork
#                   from the zygote, its READY, the call): p50/p99, against
#                   the floor of fork()+exit+wait on this machine
#   warm round trip sl_remote to a warm no-op function, timed inside the
#                   caller: p50/p99, against two unix-socket round trips
#                   (caller -> server -> callee and back)
#   remote stream   a generator in another container streamed through an
#                   endpoint (sl_respond), against the same events yielded
#                   by the endpoint itself: events/s and the ratio
#
# Writes bench/out/calls.md. Needs build/sluice and build/bench/{sl-load,sl-floor}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
N=1000000; WARM=5000
[ "${1:-}" = --quick ] && { N=100000; WARM=1000; }

SLUICE=build/sluice LOAD=build/bench/sl-load FLOOR=build/bench/sl-floor
for b in $SLUICE $LOAD $FLOOR; do [ -x "$b" ] || { echo "calls.sh: $b missing (make build)" >&2; exit 2; }; done

"$SLUICE" serve bench/apps/calls_bench.c --port 0 --quiet >"$OUT/calls-server.out" 2>"$OUT/calls-server.err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 300); do grep -q '^sluice: ready' "$OUT/calls-server.out" && break; sleep 0.1; done
PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/calls-server.out" | head -1 | cut -d: -f3)
BASE=http://127.0.0.1:$PORT

field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

floor=$("$FLOOR")
cold=$(curl -sf "$BASE/cold?from=0&to=39")
curl -sf "$BASE/warm?n=100" >/dev/null
warm=$(curl -sf "$BASE/warm?n=$WARM")
# Streams are timed three times each, alternating; the medians are reported
# (single runs on a 2-core VM vary by +-20%).
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
rates() { "$LOAD" --url "$BASE/$1?n=$N" --bytes --expect-events "$N" --json -q; }
d1=$(field "$(rates firehose)" events_per_s); r1=$(field "$(rates firehose_remote)" events_per_s)
d2=$(field "$(rates firehose)" events_per_s); r2=$(field "$(rates firehose_remote)" events_per_s)
d3=$(field "$(rates firehose)" events_per_s); r3=$(field "$(rates firehose_remote)" events_per_s)

fork50=$(field "$floor" fork_p50_us); fork99=$(field "$floor" fork_p99_us)
rtt50=$(field "$floor" rtt_p50_us); rtt99=$(field "$floor" rtt_p99_us)
c50=$(field "$cold" p50_us); c99=$(field "$cold" p99_us)
w50=$(field "$warm" p50_us); w99=$(field "$warm" p99_us)
d=$(median3 "$d1" "$d2" "$d3"); r=$(median3 "$r1" "$r2" "$r3")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

{
    echo "# calls between functions ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
    echo
    echo "| workload | sluice p50 / p99 | floor p50 / p99 | sluice / floor (p50) |"
    echo "| --- | --- | --- | --- |"
    echo "| cold start, first sl_remote ($(field "$cold" n) functions) | $c50 / $c99 us | fork+exit+wait $fork50 / $fork99 us | $(ratio "$c50" "$fork50")x |"
    echo "| warm sl_remote round trip ($WARM calls) | $w50 / $w99 us | 2 x unix-socket RTT $(awk -v a="$rtt50" 'BEGIN{print 2*a}') / $(awk -v a="$rtt99" 'BEGIN{print 2*a}') us | $(ratio "$w50" "$(awk -v a="$rtt50" 'BEGIN{print 2*a}')")x |"
    echo
    echo "| workload | events/s | vs direct |"
    echo "| --- | --- | --- |"
    echo "| endpoint yields $N events itself (median of 3) | $d | 1.00 |"
    echo "| endpoint streams a remote generator (sl_respond; median of 3) | $r | $(ratio "$r" "$d") |"
    echo
    echo "Commands: build/bench/sl-floor; curl $BASE/cold?from=0&to=39; curl $BASE/warm?n=$WARM;"
    echo "sl-load --url $BASE/firehose?n=$N --bytes; sl-load --url $BASE/firehose_remote?n=$N --bytes"
    echo "(server: build/sluice serve bench/apps/calls_bench.c)"
} | tee "$OUT/calls.md"
