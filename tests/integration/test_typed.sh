#!/usr/bin/env bash
# Typed values end to end: JSON objects as arguments (read with the
# sl_value accessors), typed return values and yields back as JSON values
# (JSON, NDJSON, SSE, spawn/result), typed calls between functions, the
# nesting bound, and sluice run / sluice map printing typed results.
source "$(dirname "$0")/lib.sh"
APP="$SRC/tests/integration/apps/typed.c"
start_server "$APP"
C="$BASE/_sluice/call"

# expect NAME WANT CMD...: CMD's stdout must be exactly WANT.
expect() {
    local name=$1 want=$2 got; shift 2
    got=$("$@") || fail "$name: the command failed: $got"
    [ "$got" = "$want" ] || fail "$name: got $got, want $want"
}

expect "object argument, typed return" \
    '{"outputs":[],"return":{"greeting":"hello ada","next_age":37,"ntags":2,"first_tag":"math","city":"London","keys":["name","age","tags","address"]}}' \
    curl -sS -X POST -d '[{"name": "ada", "age": 36, "tags": ["math", "engines"], "address": {"city": "London"}}]' "$C/profile"
pass "a JSON object argument is a map; a typed return value comes back as a JSON object"

printf '%s\n' '{"output":{"i":0,"square":0},"typed":true}' '{"output":{"i":1,"square":1},"typed":true}' \
    '{"output":{"i":2,"square":4},"typed":true}' '{"return":3,"typed":true}' >"$TMP/want"
curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[3]' "$C/squares" | cmp -s - "$TMP/want" ||
    fail "NDJSON: $(curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[3]' "$C/squares")"
expect "JSON document" '{"outputs":[{"i":0,"square":0},{"i":1,"square":1}],"return":2}' \
    curl -sS -X POST -d '[2]' "$C/squares"
sse=$(curl -sS -X POST -H 'Accept: text/event-stream' -d '[2]' "$C/squares")
grep -qx 'data: {"i":1,"square":1}' <<<"$sse" && grep -qx 'data: 2' <<<"$sse" || fail "SSE: $sse"
# 40 yields 0.05 s apart: in the first second some have arrived, not all
curl -sS -X POST -H 'Accept: application/x-ndjson' --no-buffer -d '[40]' "$C/squares" --max-time 1 >"$TMP/slow" 2>/dev/null || true
n=$(grep -c '"typed":true' "$TMP/slow" || true)
[ "$n" -ge 3 ] && [ "$n" -lt 40 ] || fail "typed yields did not stream: $n lines in the first second"
pass "typed yields stream as JSON values (NDJSON lines say \"typed\": true), and in JSON and SSE"

expect "list and map arguments" \
    '{"outputs":[],"return":"list 3 sum 6; map 2 sum 30; kinds list map none; missing: 0 (null) 0"}' \
    curl -sS -X POST -d '[[1, 2, 3], {"a": 10, "b": 20}]' "$C/sums"
args='[1,-2,2.5,"héllo",true,false,null,[1,[2,{}]],{"a":{"b":[null,"x"]},"":1},[]]'
expect "JSON round trip" "{\"outputs\":[],\"return\":$args}" curl -sS -X POST -d "$args" "$C/echo"
expect "typed bytes" '{"outputs":[],"return":{"hex":"00ff41"}}' curl -sS -X POST -d '[]' "$C/blob"
pass "list and map arguments read with the accessors; every JSON type round-trips; bytes as hex"

expect "typed call" '{"outputs":[],"return":{"via":"profile","greeting":"hello bob","next_age":1}}' \
    curl -sS -X POST -d '["bob"]' "$C/relay"
curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[3]' "$C/respond_squares" | cmp -s - "$TMP/want" ||
    fail "sl_respond: $(curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[3]' "$C/respond_squares")"
for i in 1 2 3; do # relayed through the container, not spliced: the same result, return included
    got=$(curl -sS -X POST -H 'Accept: application/x-ndjson' -d '[3]' "$C/respond_squares_late")
    [ "$got" = "$(cat "$TMP/want")" ] || fail "sl_respond after the first output: $got"
done
expect "builder errors" '{"outputs":[],"return":"incomplete -22 second -22"}' curl -sS -X POST -d '[]' "$C/builder_errors"
pass "typed arguments to a call (sl_pack), its typed return decoded (sl_value_decode); sl_respond relays typed"

# A web endpoint's own response: typed values as JSON, a line each (an
# event each on an event stream); raw bytes as they are.
want=$(printf '%s\n' '{"i":0,"tags":["a\nb",null]}' '{"i":1,"tags":["a\nb",null]}' 'raw 2' '"done"')
expect "typed values on a web endpoint" "$want" curl -sS "$BASE/web_typed"
want=$(printf '%s\n' 'data: {"i":0,"tags":["a\nb",null]}' '' 'raw 1' 'data: "done"')
expect "typed values on an event stream" "$want" curl -sS "$BASE/web_typed_sse?n=1"
curl -sS -D "$TMP/h" "$BASE/web_typed_return" >"$TMP/b"
[ "$(cat "$TMP/b")" = '{"ok":true}' ] && grep -qi '^content-length: 12' "$TMP/h" ||
    fail "typed return on a web endpoint: $(cat "$TMP/h" "$TMP/b")"
pass "a web endpoint's typed outputs and return value reach its HTTP client as JSON"

id=$(curl -sS -X POST -d '[{"name": "eve", "age": 1, "tags": ["t"]}]' "$BASE/_sluice/spawn/profile" |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
result_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_sluice/result/$id")" = 200 ]; }
wait_for 10 "the spawned call's result" result_ready
grep -q '^{"return":{"greeting":"hello eve","next_age":2,' <<<"$(curl -sS "$BASE/_sluice/result/$id")" ||
    fail "spawned typed result: $(curl -sS "$BASE/_sluice/result/$id")"
pass "a spawned call's typed result is JSON too"

deep() { $PY -c "import sys; n=int(sys.argv[1]); print('[' * n + ']' * n)" "$1"; }
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d "$(deep 32)" "$C/echo" || true)
[ "$code" = 200 ] && grep -q '\[\[\[\[' "$TMP/b" || fail "32 levels: $code $(cat "$TMP/b")"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST -d "$(deep 33)" "$C/echo" || true)
[ "$code" = 400 ] && grep -q 'nest deeper than 32' "$TMP/b" || fail "33 levels: $code $(cat "$TMP/b")"
pass "arguments nest up to 32 levels; deeper is a 400 with the reason"

expect "sluice run" '{"greeting":"hello ada","next_age":3,"ntags":1,"first_tag":"x","city":null,"keys":["name","age","tags"]}' \
    "$SLUICE" run "$APP" profile '{"name": "ada", "age": 2, "tags": ["x"]}'
expect "sluice run, typed yields" "$(printf '{"i":0,"square":0}\n{"i":1,"square":1}\n2')" "$SLUICE" run "$APP" squares 2
printf '{"name": "a"}\n{"name": "b"}\n' >"$TMP/in"
expect "sluice map, object inputs" "$(printf 'hello a\nhello b')" "$SLUICE" map "$APP" greet_text --inputs "$TMP/in"
expect "sluice map, typed results" "$(printf '3\n4')" "$SLUICE" map "$APP" squares --range 3:5
pass "sluice run takes JSON object arguments and prints typed results as JSON; so does sluice map"
