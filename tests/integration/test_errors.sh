#!/usr/bin/env bash
# Bad input and failures: a clear status and reason, never a clean end after
# a failure, and the server keeps serving.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/testapp.c"

code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

[ "$(code "$BASE/no_such_thing")" = 404 ] || fail "unknown path: not 404"
grep -q 'no endpoint at /no_such_thing' "$TMP/body" || fail "404 without a reason"
[ "$(code "$BASE/echo")" = 405 ] || fail "GET on a POST endpoint: not 405"
pass "404 and 405 with reasons"

# malformed request line
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'THIS IS NOT HTTP\r\n\r\n' >&3
read -r -t 5 line <&3 || true
exec 3<&-
case "$line" in *" 400 "*) ;; *) fail "malformed request got: $line" ;; esac
pass "malformed request: 400"

[ "$(code "$BASE/fail_early?x=1")" = 500 ] || fail "failure before the first byte: not 500"
grep -q 'bad input: x=1' "$TMP/body" || fail "500 without the function's reason: $(cat "$TMP/body")"
[ "$(code "$BASE/crash_early")" = 500 ] || fail "crash before the first byte: not 500"
grep -q 'signal 11' "$TMP/body" || fail "crash 500 does not name the signal: $(cat "$TMP/body")"
pass "failure and crash before the first byte: 500 with the reason"

for proto in --http1.1 --http2-prior-knowledge; do
    rc=0; curl -sS --no-buffer $proto "$BASE/fail_late" >"$TMP/sse" 2>/dev/null || rc=$?
    grep -q '^data: two' "$TMP/sse" || fail "$proto: events before the failure lost"
    grep -q '^event: error' "$TMP/sse" || fail "$proto: no event: error: $(cat "$TMP/sse")"
    grep -q '^data: lost the GPU$' "$TMP/sse" && grep -q '^data: halfway$' "$TMP/sse" || fail "$proto: reason missing"
    ! grep -qx 'data: ' "$TMP/sse" || fail "$proto: the reason's CR LF made two line breaks: $(cat "$TMP/sse")"
    # over HTTP/2 the stream ends after its error event (a reset would make
    # the client drop the event); over HTTP/1.1 it is also cut
    [ "$rc" != 0 ] || [ "$proto" = --http2-prior-knowledge ] || fail "$proto: failed event stream ended cleanly"

    rc=0; curl -sS --no-buffer $proto "$BASE/crash_late" >"$TMP/sse" 2>/dev/null || rc=$?
    grep -q '^event: error' "$TMP/sse" || fail "$proto: crash mid-stream: no event: error"
    grep -q 'signal 11' "$TMP/sse" || fail "$proto: crash mid-stream: reason does not name the signal"
    [ "$rc" != 0 ] || [ "$proto" = --http2-prior-knowledge ] || fail "$proto: crashed event stream ended cleanly"

    rc=0; curl -sS --no-buffer $proto "$BASE/fail_late_plain" >"$TMP/plain" 2>/dev/null || rc=$?
    grep -q 'part one' "$TMP/plain" || fail "$proto: plain output before the failure lost"
    [ "$rc" != 0 ] || fail "$proto: failed plain body ended cleanly"
    pass "$proto: failure after the first byte: event: error / cut body (curl exit $rc)"
done

[ "$(status crash_early 'f["containers_lifecycle"]["lost"]')" -ge 1 ] || fail "crash not counted"
# the crashed container is replaced: the next call runs in a new one
[ "$(code "$BASE/crash_early")" = 500 ] && grep -q 'signal 11' "$TMP/body" || fail "no new container after a crash"
holds crash_early 'f["containers_lifecycle"]["started"] == 2 and f["containers_lifecycle"]["lost"] == 2' ||
    fail "crash_early: expected 2 containers started and lost"
[ "$(code "$BASE/headers")" = 201 ] || fail "server stopped serving after the crashes"
pass "the server keeps serving after crashes"
