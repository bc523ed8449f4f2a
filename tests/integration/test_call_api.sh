#!/usr/bin/env bash
# Calling any function from outside: POST /_sluice/call/<fn> with JSON
# arguments; the outputs and return value as JSON, NDJSON or SSE by Accept;
# failures and bad input as clear errors.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/calls.c"
C="$BASE/_sluice/call"

[ "$(curl -sS -X POST -d '[1, 2, 3]' "$C/add")" = '{"outputs":["+1","+2","+3"],"return":"6"}' ] ||
    fail "JSON: $(curl -sS -X POST -d '[1, 2, 3]' "$C/add")"
printf '{"output":"+4"}\n{"output":"+5"}\n{"return":"9"}\n' >"$TMP/want"
curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[4, 5]' "$C/add" | cmp -s - "$TMP/want" || fail "NDJSON"
sse=$(curl -sS -X POST -H 'Accept: text/event-stream' -d '[4, 5]' "$C/add")
grep -q '^data: +4$' <<<"$sse" && grep -q '^event: return$' <<<"$sse" && grep -q '^data: 9$' <<<"$sse" || fail "SSE: $sse"
pass "a function's outputs and return value as JSON, NDJSON and SSE"

curl -sS -X POST -H 'Accept: application/x-ndjson' -d '["5"]' "$C/gen" >"$TMP/gen" || true
curl -sS -X POST -H 'Accept: text/event-stream' --no-buffer -d '[]' "$C/slow_gen" --max-time 1 >"$TMP/slow" 2>/dev/null || true
[ "$(grep -c '^data: data: ' "$TMP/slow")" -ge 2 ] || fail "a generator's outputs did not stream: $(cat "$TMP/slow")"
pass "a generator's outputs stream as they are yielded"

code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d '[]' "$C/crashing" || true)
[ "$code" = 500 ] && grep -q '"error":"container .* signal 11' "$TMP/b" || fail "crash: $code $(cat "$TMP/b")"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d '{' "$C/add" || true)
[ "$code" = 400 ] && grep -q '"error":"the body is not JSON' "$TMP/b" || fail "bad JSON: $code $(cat "$TMP/b")"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d '{"a": 1}' "$C/add" || true)
[ "$code" = 400 ] && grep -q 'must be a JSON array' "$TMP/b" || fail "not an array: $code $(cat "$TMP/b")"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d '[]' "$C/nope" || true)
[ "$code" = 404 ] && grep -q '"error":"no function named nope"' "$TMP/b" || fail "unknown: $code $(cat "$TMP/b")"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' "$C/add" || true)
[ "$code" = 405 ] || fail "GET: $code"
pass "failures: 500, bad JSON 400, unknown 404, GET 405, each with a JSON reason"

out=$(curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[7, -2, 2.5, "héllo", true, null, [1, 2]]' "$C/describe" | tr -d '\n')
want='{"output":"int 7;"}{"output":"int -2;"}{"output":"double 2.5;"}{"output":"str héllo (6);"}{"output":"bool 1;"}{"output":"null;"}{"output":"list;"}{"return":"7 args"}'
[ "$out" = "$want" ] || fail "typed arguments: $out"
pass "JSON arguments arrive typed: int, double, string, bool, null, list"

[ "$(curl -sS "$BASE/touch_all")" = "touched 50" ] || fail "for_each"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' "$BASE/touch_crash" || true)
[ "$code" = 500 ] && grep -q 'crashing input [0-2] failed' "$TMP/b" || fail "for_each failure: $code $(cat "$TMP/b")"
pass "sl_for_each runs every input, and fails naming the input that failed"

id=$(curl -sS -X POST -d '[3, 4]' "$BASE/_sluice/spawn/add" | $PY -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
[ -n "$id" ] || fail "spawn gave no call id"
result_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/$id")" = 200 ]; }
wait_for 10 "the spawned call's result" result_ready
[ "$(curl -sS "$BASE/_sluice/result/$id")" = '{"return":"7"}' ] || fail "result: $(curl -sS "$BASE/_sluice/result/$id")"
[ "$(curl -sS -X DELETE "$BASE/_sluice/result/$id")" = '{"status":"deleted"}' ] || fail "DELETE of a finished result"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/$id")" = 404 ] || fail "a deleted result is still there"
# the streamed slow_gen above is cancelled once the server sees its client
# gone (up to a second later): count from when every earlier call has ended
all_ended() { holds slow_gen "f['calls']['started'] == f['calls']['succeeded'] + f['calls']['failed'] + f['calls']['cancelled']"; }
wait_for 10 "the earlier slow_gen calls ended" all_ended
before=$(status slow_gen 'f["calls"]["cancelled"]')
id=$(curl -sS -X POST -d '[]' "$BASE/_sluice/spawn/slow_gen" | $PY -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
[ "$(curl -s -o "$TMP/b" -w '%{http_code}' "$BASE/_sluice/result/$id")" = 202 ] && grep -q running "$TMP/b" || fail "running: $(cat "$TMP/b")"
[ "$(curl -sS -X DELETE "$BASE/_sluice/result/$id")" = '{"status":"cancelled"}' ] || fail "DELETE of a running call"
wait_for 10 "the deleted spawn cancelled" holds slow_gen "f['calls']['cancelled'] == $before + 1"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/$id")" = 404 ] || fail "a deleted call's result is still there"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/_sluice/result/$id")" = 405 ] || fail "POST to a result"
id=$(curl -sS -X POST -d '[]' "$BASE/_sluice/spawn/crashing" | $PY -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
failed_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/$id")" = 500 ]; }
wait_for 10 "the spawned crash's error" failed_ready
grep -q '"error":"container .* signal 11' <<<"$(curl -sS "$BASE/_sluice/result/$id")" || fail "spawned crash: $(curl -sS "$BASE/_sluice/result/$id")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/ffffffff")" = 404 ] || fail "unknown call id"
pass "spawn returns a call id; its result (running, return, error) is fetched later; DELETE cancels it or forgets it"
