#!/usr/bin/env bash
# Faults from outside: containers killed with SIGKILL while they stream or
# while a map runs. A client never sees a clean end to a broken stream, and
# a map accounts for every input.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/faults.c"

# pids of FN's containers, from /_sluice/status: a starting one has none
# yet (null; it read 0 once, and `kill -9 0` killed the test's whole
# process group, ctest and make with it)
pids_of() { status "$1" '" ".join(str(c["pid"]) for c in f["containers"] if c["pid"])'; }

for proto in --http1.1 --http2-prior-knowledge; do
    rc=0
    : >"$TMP/sse" # emptied here: the background curl's own redirection may come after the wait below starts
    curl -sS --no-buffer $proto "$BASE/ticker" >"$TMP/sse" 2>/dev/null &
    CURL=$!
    wait_for 10 "the first event" grep -q 'tick 1' "$TMP/sse"
    kill -9 $(pids_of ticker)
    wait $CURL || rc=$?
    grep -q '^event: error' "$TMP/sse" || fail "$proto: killed stream: no event: error: $(cat "$TMP/sse")"
    grep -q 'signal 9' "$TMP/sse" || fail "$proto: killed stream: the reason does not name the signal"
    grep -q 'tick 9' "$TMP/sse" && fail "$proto: the stream ran on after its container was killed"
    [ "$rc" != 0 ] || [ "$proto" = --http2-prior-knowledge ] || fail "$proto: a killed stream ended cleanly"
done
pass "kill -9 mid-stream: the client gets event: error naming the signal, never a clean end"

# map_under_kills FN OUT: a 10,000-input map of FN into OUT while FN's
# containers are killed three times, 0.6 s apart; sets KILLS.
map_under_kills() {
    local fn=$1 out=$2 p
    curl -sS "$BASE/steady_map?n=10000&window=8&fn=$fn" >"$out" &
    local curl_pid=$!
    KILLS=0
    for _ in 1 2 3; do
        sleep 0.6
        p=$(pids_of "$fn")
        [ -n "$p" ] && kill -9 $p 2>/dev/null && KILLS=$((KILLS + 1))
    done
    wait $curl_pid || fail "the map of $fn: its stream broke: $(tail -3 "$out")"
}

map_under_kills steady "$TMP/map"
kills=$KILLS
ok=$(grep -c '^ok ' "$TMP/map" || true)
errors=$(grep -c '^error: steady input [0-9]* failed: steady: container [0-9]* .*signal 9' "$TMP/map" || true)
[ "$kills" -ge 2 ] || fail "the map ended before the containers could be killed ($kills kills)"
[ "$((ok + errors))" = 10000 ] && [ "$(wc -l <"$TMP/map")" = 10000 ] ||
    fail "$ok results and $errors errors for 10,000 inputs: $(grep -v '^ok ' "$TMP/map" | head -5)"
# every input exactly once, as a result or as an error naming it
{ sed -n 's/^ok //p' "$TMP/map"; sed -n 's/^error: steady input \([0-9]*\) failed.*/\1/p' "$TMP/map"; } | sort -n |
    cmp -s - <(seq 0 9999) || fail "an input is missing or repeated"
pass "kill -9 of containers ($kills times) during a 10,000-input map: $ok results, $errors errors naming their inputs"

# with retries (steady_retried: .retries = 3), every input gives its result
map_under_kills steady_retried "$TMP/map2"
kills=$KILLS
[ "$kills" -ge 2 ] || fail "the retried map ended before the containers could be killed ($kills kills)"
seq 0 9999 | sed 's/^/ok /' | cmp -s - "$TMP/map2" ||
    fail "with retries, not every result, once and in order: $(grep -v '^ok ' "$TMP/map2" | head -3)"
pass "kill -9 of containers ($kills times) during a map of a function with retries: all 10,000 results, in order"

# a container that writes garbage frames is killed; the server serves on
code=$(curl -sS -m 10 -o "$TMP/vandal" -w '%{http_code}' "$BASE/vandal")
[ "$code" = 500 ] || fail "garbage frames: HTTP $code $(cat "$TMP/vandal")"
grep -qi 'killed' "$TMP/vandal" || fail "garbage frames: no reason: $(cat "$TMP/vandal")"
[ "$(curl -sS -m 5 "$BASE/hello")" = hello ] || fail "the server stopped serving after garbage frames"
[ "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$BASE/vandal")" = 500 ] || fail "a second vandal was not killed too"
pass "a container writing garbage frames is killed (500: $(head -c 120 "$TMP/vandal")), the server serves on"

# the zygote dies: running streams go on, new containers still start
curl -sS --no-buffer "$BASE/ticker" >"$TMP/tick" &
CURL=$!
wait_for 10 "the first tick" grep -q 'tick 1' "$TMP/tick"
zygote=$(pgrep -P "$SERVER_PID" -f sluice-zygote | head -1)
[ -n "$zygote" ] || fail "no zygote process under the server"
kill -9 "$zygote"
wait $CURL || fail "a stream broke when the zygote died: $(tail -2 "$TMP/tick")"
grep -q 'tick 9' "$TMP/tick" || fail "a stream stopped when the zygote died: $(cat "$TMP/tick")"
kill -9 $(pids_of hello) 2>/dev/null || true # so the next call needs a new container
wait_for 10 "a new call served by a container of the new zygote" sh -c "[ \"\$(curl -sS -m 5 $BASE/hello)\" = hello ]"
new=$(pgrep -P "$SERVER_PID" -f sluice-zygote | head -1)
[ -n "$new" ] && [ "$new" != "$zygote" ] || fail "no new zygote"
pass "the zygote died (pid $zygote): streams in flight finished, a new zygote ($new) starts containers"
