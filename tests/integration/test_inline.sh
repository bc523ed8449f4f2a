#!/usr/bin/env bash
# A quick function's inputs run on its container's reader thread (no
# worker wake-up each), and one of them blocking never holds up the
# others, nor the reading of a cancel: the sentinel takes the socket over.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/inline.c"

# quick: after 16 in a row each under 100 us (and the sentinel started),
# inputs run on the reader, which is still the container's main thread. A
# busy machine can make one slow, which starts the count again: allow many.
on_reader() { # on_reader FN: requests until one runs on the reader
    local n
    for n in $(seq 1 300); do
        [ "$(curl -sf "$BASE/$1")" = "main=1" ] && { echo "$n"; return 0; }
    done
    return 1
}
n=$(on_reader flip) || fail "300 quick inputs in a row, none ran on the reader"
pass "quick inputs run on the container's reader thread (from request $n on)"

# an input that blocks where sluice cannot see it (usleep) on the reader:
# other requests to the same container are answered meanwhile. A slow
# quick input on a busy machine ends the streak, and the block then runs
# on a worker instead (main=0): wait it out and try again.
lines() { grep -c "$1" "$TMP/server.out" || true; }
landed() { [ "$(lines "$1")" -gt "$2" ]; }
for try in $(seq 1 5); do
    before=$(lines 'flip: blocking')
    curl -sf "$BASE/flip?block=raw" >"$TMP/raw" &
    RAW=$!
    wait_for 10 "the raw block to start" landed 'flip: blocking' "$before"
    last=$(grep 'flip: blocking' "$TMP/server.out" | tail -n 1)
    [[ "$last" == *main=1 ]] && break
    wait $RAW || fail "a blocking request off the reader failed"
    [ "$try" -lt 5 ] || fail "5 raw blocks in a row ran off the reader"
    on_reader flip >/dev/null || fail "300 quick inputs in a row, none ran on the reader"
done
t0=$(date +%s%N)
for _ in $(seq 1 5); do curl -sf -m 10 "$BASE/flip" >/dev/null || fail "a quick request failed beside the block"; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -0 $RAW 2>/dev/null || fail "the blocking request ended before the others were answered"
[ "$ms" -lt 2000 ] || fail "5 quick requests took $ms ms beside a 3 s block on the reader"
wait $RAW || fail "the blocking request failed"
pass "an input blocking 3 s on the reader: 5 other requests answered in $ms ms meanwhile"

# another function's container, quick until its inputs run on its reader;
# then one that waits in sl_sleep there: the client leaves, and the cancel
# is read at once (the sleep ends long before 30 s, and well within the 5 s
# grace after which its container would be killed)
for try in $(seq 1 5); do
    on_reader flop >/dev/null || fail "300 quick flop inputs in a row, none ran on the reader"
    before=$(lines 'flop: sleep ended after')
    curl -s -m 1 "$BASE/flop?block=sl" >/dev/null 2>&1 || true
    wait_for 10 "the sleeping input to see its cancel" landed 'flop: sleep ended after' "$before"
    last=$(grep 'flop: sleeping' "$TMP/server.out" | tail -n 1)
    [[ "$last" == *main=1 ]] && break
    [ "$try" -lt 5 ] || fail "5 sleeping inputs in a row ran off the reader"
done
last=$(grep 'flop: sleep ended after' "$TMP/server.out" | tail -n 1)
[[ "$last" =~ after\ [0-4]\.[0-9]\ s:\ cancelled ]] ||
    fail "the sl_sleep was not cancelled promptly: $last"
holds flop 'f["containers_lifecycle"]["killed"] == 0 and f["containers_lifecycle"]["started"] == 1' ||
    fail "the container was killed or replaced"
[ "$(curl -sf "$BASE/flop")" != "" ] || fail "no answer after the cancel"
pass "an input in sl_sleep on the reader is cancelled when its client leaves; the container serves on"
