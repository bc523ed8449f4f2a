#!/usr/bin/env bash
# Maps: the seed's /mapped in order; completion order when asked; a large
# map; a crashing input as an error item or as the map's failure; sl_items
# and sl_select.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/examples/map.c"

out=$(curl -sS "$BASE/mapped")
[ "$out" = "$(for i in $(seq 0 9); do echo "segment $i"; done)" ] || fail "/mapped: $out"
pass "/mapped streams segment 0..9 in order"

curl -sS "$BASE/mapped?n=20000" >"$TMP/big"
[ "$(wc -l <"$TMP/big")" = 20000 ] && [ "$(tail -1 "$TMP/big")" = "segment 19999" ] || fail "large map: $(tail -2 "$TMP/big")"
seq 0 19999 | sed 's/^/segment /' | cmp -s - "$TMP/big" || fail "large map out of order"
curl -sS "$BASE/mapped?n=2000&ordered=0" | sort -t' ' -k2 -n >"$TMP/unordered"
seq 0 1999 | sed 's/^/segment /' | cmp -s - "$TMP/unordered" || fail "unordered map lost or duplicated results"
pass "a 20,000-input map arrives whole and in order; unordered ones whole"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

start_server "$SRC/tests/integration/apps/maps.c"
ordered=$(curl -sS "$BASE/reversed" | tr '\n' ' ')
[ "$ordered" = "$(for i in $(seq 0 9); do printf 'result %d ' "$i"; done)" ] || fail "ordered: $ordered"
curl -sS "$BASE/reversed?ordered=0" >"$TMP/u"
[ "$(sort "$TMP/u" | uniq | wc -l)" = 10 ] || fail "unordered lost or duplicated: $(cat "$TMP/u")"
[ "$(head -1 "$TMP/u")" != "result 0" ] || fail "unordered results came in input order: $(cat "$TMP/u" | tr '\n' ' ')"
pass "unordered results come as inputs finish: $(tr '\n' ' ' <"$TMP/u")"

curl -sS "$BASE/tolerant" >"$TMP/t"
[ "$(grep -c '^ok ' "$TMP/t")" = 9 ] || fail "tolerant map lost results: $(cat "$TMP/t")"
grep -q '^error: fragile input 3 failed: fragile: container .* signal 11' "$TMP/t" || fail "no error item naming input 3: $(cat "$TMP/t")"
pass "a crashing input is an error item naming it; the other nine results arrive"

# results 0..2 went out first, so the failure cuts the body (no final chunk)
rc=0; curl -sS "$BASE/strict" >"$TMP/s" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a failed map ended its stream cleanly: $(cat "$TMP/s")"
grep -q '^ok 3' "$TMP/s" && fail "input 3 produced a result"
grep -q "call .* to strict failed: fragile input 3 failed: fragile: container .* signal 11" "$TMP/server.err" ||
    fail "the failure does not name input 3"

pass "without return_exceptions the map fails, naming input 3"

out=$(curl -sS "$BASE/two_maps")
for w in 'a^2' 'bb^2' 'ccc^2' 'result 8' 'result 9' 'got 5'; do
    grep -qF "$w" <<<"$out" || fail "two_maps missing '$w': $out"
done
pass "sl_items and sl_select over two maps"

curl -sS "$BASE/tolerant_big" >"$TMP/tb"
[ "$(grep -c '^ok ' "$TMP/tb")" = 19999 ] || fail "batched map lost results: $(grep -c '^ok ' "$TMP/tb") ok"
[ "$(grep -c '^error: ' "$TMP/tb")" = 1 ] || fail "errors: $(grep '^error: ' "$TMP/tb" | head -5)"
grep -q '^error: brittle input 3210 failed: brittle: container .* signal 11' "$TMP/tb" ||
    fail "no error item naming input 3210: $(grep '^error' "$TMP/tb")"
seq 0 19999 | grep -vx 3210 | sed 's/^/ok /' | cmp -s - <(grep '^ok ' "$TMP/tb") || fail "batched results out of order"
pass "a crash inside a batch of quick inputs fails only that input; 19,999 results arrive in order"

curl -sS "$BASE/sourced?n=50000" >"$TMP/src"
[ "$(grep -c '\^2$' "$TMP/src")" = 50000 ] || fail "sl_source map: $(wc -l <"$TMP/src") lines"
seq 0 49999 | sed 's/$/^2/' | cmp -s - <(grep '\^2$' "$TMP/src") || fail "sl_source map out of order"
ahead=$(sed -n 's/^ahead //p' "$TMP/src")
[ "$ahead" -le 8192 ] || fail "the source was read $ahead inputs ahead of the results"
pass "a map over sl_source: 50,000 results in order, the source read at most $ahead ahead"

start=$(date +%s.%N)
curl -sS -N "$BASE/piped" | while IFS= read -r line; do
    printf '%s %s\n' "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.2f", n - s }')" "$line"
done >"$TMP/piped"
[ "$(cut -d' ' -f2 "$TMP/piped" | tr '\n' ' ')" = "w0^2 w1^2 w2^2 w3^2 w4^2 w5^2 w6^2 w7^2 w8^2 w9^2 " ] ||
    fail "pipeline: $(cat "$TMP/piped")"
first=$(head -1 "$TMP/piped" | cut -d' ' -f1); last=$(tail -1 "$TMP/piped" | cut -d' ' -f1)
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l - f >= 0.1) }' || fail "pipeline results came all at once: $(cat "$TMP/piped")"
pass "a map over a generator's outputs streams each result as its input arrives ($first s .. $last s)"

out=$(curl -sS "$BASE/starmapped" | tr '\n' ' ')
[ "$out" = "ada #0 bob #1 cy #2 ada #3 bob #4 cy #5 " ] || fail "starmap: $out"
pass "a starmap: typed argument lists packed as the map asks for them"

# (the source fails as the map asks for its fourth input: a 500 with the
# reason if no result went out yet, else a cut stream and the reason logged)
why="the map's input source failed: words_broken: ran out of words"
rc=0; code=$(curl -sS -o "$TMP/pb" -w '%{http_code}' "$BASE/piped_broken" 2>/dev/null) || rc=$?
if [ "$code" = 500 ]; then
    grep -qF "$why" "$TMP/pb" || fail "a pipeline whose source failed: 500 without the reason: $(cat "$TMP/pb")"
else
    [ "$rc" != 0 ] || fail "a pipeline whose source failed ended cleanly: $(cat "$TMP/pb")"
    wait_for 5 "the reason logged" grep -qF "$why" "$TMP/server.err"
fi
pass "a pipeline whose source fails fails too, with the source's reason (HTTP $code)"

# Flat memory: a 500,000-input map raises no process's peak RSS by more than
# a few MB over a 50,000-input one (inputs and results are never all held).
# Not under ASan, whose quarantine holds freed memory by design.
if ! under_asan; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
    start_server "$SRC/examples/map.c"
    peaks() { # server, then each container, peak RSS in kB
        local p
        for p in $SERVER_PID $(curl -sf "$BASE/_sluice/status" | $PY -c '
import json, sys
for f in json.load(sys.stdin)["functions"]:
    for c in f["containers"]: print(c["pid"])'); do
            echo "$p $(awk '/VmHWM/ { print $2 }' /proc/$p/status)"
        done | sort
    }
    curl -sS "$BASE/mapped?n=50000" | tail -1 | grep -qx 'segment 49999' || fail "50,000-input map"
    peaks >"$TMP/peak1"
    curl -sS "$BASE/mapped?n=500000" >"$TMP/huge"
    [ "$(wc -l <"$TMP/huge")" = 500000 ] && [ "$(tail -1 "$TMP/huge")" = "segment 499999" ] || fail "500,000-input map"
    peaks >"$TMP/peak2"
    join "$TMP/peak1" "$TMP/peak2" | awk '{ if ($3 - $2 > 8192) bad = bad " pid " $1 ": " $2 " -> " $3 " kB" }
        END { if (bad) { print bad; exit 1 } }' >"$TMP/grew" || fail "memory grew with the map's size:$(cat "$TMP/grew")"
    pass "a 500,000-input map in order with flat memory (peak RSS kB, pid: $(join "$TMP/peak1" "$TMP/peak2" | awk '{ printf "%s ", $3 }'))"
fi
