#!/usr/bin/env bash
# Functions calling functions: a remote generator streamed through an
# endpoint, remote return values, failures that name the callee, and
# cancellation down the call tree.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/calls.c" --cancel-grace 2

for proto in --http1.1 --http2-prior-knowledge; do
    curl -sS --no-buffer $proto "$BASE/hook" >"$TMP/hook"
    [ "$(grep -c '^data: item' "$TMP/hook")" = 5 ] || fail "$proto: /hook: $(cat "$TMP/hook")"
    for i in 0 1 2 3 4; do grep -q "^data: item $i\$" "$TMP/hook" || fail "$proto: item $i missing"; done
done
pass "a generator in another function streams through an endpoint"

[ "$(curl -sS "$BASE/remote_sum")" = "sum=14" ] || fail "remote_sum: $(curl -sS "$BASE/remote_sum")"
holds square 'f["calls"]["succeeded"] == 3' || fail "square not called 3 times"
pass "remote calls return values"

code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/call_unknown")
[ "$code" = 500 ] && grep -q 'no function named no_such_function' "$TMP/body" || fail "unknown callee: $code $(cat "$TMP/body")"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/call_crash")
[ "$code" = 500 ] && grep -q 'crashing: container .* signal 11' "$TMP/body" || fail "crashing callee: $code $(cat "$TMP/body")"
pass "a failing callee fails its caller with a reason that names it"

out=$(curl -sS "$BASE/handle_ops")
[ "$out" = "first=timeout second=1 third=1 after=cancelled" ] || fail "handle ops: $out"
wait_for 5 "the cancelled handle's callee stopped" holds slow_gen 'f["calls"]["cancelled"] == 1'
pass "sl_next timeout, outputs, sl_cancel"

timeout 1.2 curl -sS --no-buffer "$BASE/hook_slow" >"$TMP/partial" 2>/dev/null || true
n=$(grep -c '^data:' "$TMP/partial" || true)
[ "$n" -ge 2 ] || fail "expected some events before the disconnect, got $n"
wait_for 5 "the callee cancelled with its caller" holds slow_gen 'f["calls"]["cancelled"] == 2'
wait_for 5 "the callee saw it" grep -q 'slow_gen: cancelled after' "$TMP/server.out"
wait_for 5 "no call left in flight" holds slow_gen 'sum(c["inputs_in_flight"] for c in f["containers"]) == 0'
pass "a client's disconnect cancels the remote generator it was streaming"
