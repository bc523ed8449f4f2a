#!/usr/bin/env bash
# A client that disconnects cancels its call: sl_sleep returns early, the
# input slot frees. A call that ignores cancellation past the grace period
# loses its container, which is replaced.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/testapp.c" --cancel-grace 1

for proto in --http1.1 --http2-prior-knowledge; do
    before=$(status slow_events 'f["calls"]["cancelled"]')
    timeout 1 curl -sS --no-buffer $proto "$BASE/slow_events" >"$TMP/partial" 2>/dev/null || true
    n=$(grep -c '^data:' "$TMP/partial" || true)
    [ "$n" -ge 2 ] && [ "$n" -le 8 ] || fail "$proto: expected a few events before the disconnect, got $n"
    wait_for 5 "$proto: call cancelled" holds slow_events "f['calls']['cancelled'] > $before"
    wait_for 5 "$proto: input slot freed" holds slow_events 'sum(c["inputs_in_flight"] for c in f["containers"]) == 0'
    pass "$proto: disconnect after $n events cancelled the call"
done
wait_for 5 "the function saw the cancellation" grep -q 'slow_events: cancelled after' "$TMP/server.out"
grep 'slow_events: cancelled after' "$TMP/server.out" | while read -r _ _ _ n _; do
    [ "$n" -le 10 ] || fail "the function ran on to event $n after the client left"
done
pass "the function's sl_yield/sl_sleep returned early"

# stubborn ignores cancellation: after the 1 s grace its container is killed.
timeout 1 curl -sS --no-buffer "$BASE/stubborn" >/dev/null 2>&1 || true
wait_for 10 "the stubborn container killed" holds stubborn 'f["containers_lifecycle"]["killed"] == 1'
wait_for 5 "its container gone" holds stubborn 'len(f["containers"]) == 0'
timeout 3 curl -sS --no-buffer "$BASE/stubborn" >"$TMP/again" 2>/dev/null || true
grep -q 'data: started' "$TMP/again" || fail "no new container served stubborn after the kill"
pass "a call ignoring cancellation lost its container; a new one serves"
