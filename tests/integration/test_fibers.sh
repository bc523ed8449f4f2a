#!/usr/bin/env bash
# Inputs run as fibers on a few carrier threads: many sleeping streams need
# few threads, and an input that computes or blocks outside sluice does not
# stop the others that share its carrier (src/container/sched.c).
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/fibers.c"

# max_late FILE...: the largest "late N" (ms) the streams reported.
max_late() { cat "$@" | awk '/^data: / {if ($4 > m) m = $4} END {print m + 0}'; }
# all_complete N FILE...: each file holds the stream's 8 events.
all_complete() {
    local n=$1; shift
    local whole=0 f
    for f in "$@"; do [ "$(grep -c '^data: ' "$f")" = 8 ] && whole=$((whole + 1)); done
    [ "$whole" = "$n" ] || fail "$whole of $n streams sent their 8 events"
}

# start_streams N: N clients of /mix?mode=stream, into $TMP/s.*; pids in `pids`.
start_streams() {
    pids=()
    local i
    for i in $(seq 1 "$1"); do
        curl -sSN "$BASE/mix?mode=stream" >"$TMP/s.$i" &
        pids+=($!)
    done
}

# 1. 300 streams at once in one container: all run at once, on few threads.
start_streams 300
sleep 1
threads=$(curl -sS "$BASE/mix?mode=threads")
wait "${pids[@]}"
all_complete 300 "$TMP"/s.*
[ "$threads" -le 24 ] || fail "300 sleeping streams held $threads threads"
late=$(max_late "$TMP"/s.*)
[ "$late" -lt 1500 ] || fail "300 streams: an event was $late ms behind its schedule"
pass "300 concurrent streams in one container on $threads threads, every event within $late ms of its schedule"
rm -f "$TMP"/s.*

# 2. An input that computes for 1.5 s, or blocks in usleep for 1.5 s, while
# 20 streams run: their carriers' other fibers move on, so no event waits
# for it (it would be ~1.5 s late).
for mode in spin block; do
    start_streams 20
    sleep 0.4
    out=$(curl -sS "$BASE/mix?mode=$mode")
    wait "${pids[@]}"
    case $mode in spin) [ "$out" = "spun 0" ] || [ "$out" = "spun 1" ] || fail "spin said: $out" ;;
                  block) [ "$out" = "blocked" ] || fail "block said: $out" ;; esac
    all_complete 20 "$TMP"/s.*
    late=$(max_late "$TMP"/s.*)
    [ "$late" -lt 700 ] || fail "an input that ran $mode for 1.5 s held up a stream's event by $late ms"
    pass "an input that runs $mode for 1.5 s: 20 streams beside it kept their schedule (latest event $late ms behind)"
    rm -f "$TMP"/s.*
done

# 3. Inputs that compute run at once, each on a carrier of its own, as
# they would on threads: three of 1.5 s each end in about 1.5 s, not 4.5 s.
started=$(date +%s.%N)
pids=()
for i in 1 2 3; do
    curl -sS "$BASE/mix?mode=spin" >"$TMP/spin.$i" &
    pids+=($!)
done
wait "${pids[@]}"
took=$($PY -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$started" "$(date +%s.%N)")
[ "$(cat "$TMP"/spin.* | grep -c '^spun')" = 3 ] || fail "the three spins said: $(cat "$TMP"/spin.*)"
$PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.8 else 1)" "$took" || fail "three inputs computing 1.5 s each took $took s together: they did not run at once"
pass "three inputs computing 1.5 s each ran at once: $took s for all three"

# 4. An input that overflows its stack hits the guard page below it: the
# container crashes (the call fails with the signal), nothing else's stack
# is written over, and the next call runs in a new container.
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/mix?mode=overflow")
[ "$code" = 500 ] && grep -q 'signal 11' "$TMP/body" || fail "a stack overflow: $code $(cat "$TMP/body")"
[ "$(curl -sS "$BASE/mix?mode=threads")" -ge 1 ] || fail "no call ran after the overflow"
pass "an input that overflows its stack crashes its container (signal 11), and the next call runs"
