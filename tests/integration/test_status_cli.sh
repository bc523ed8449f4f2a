#!/usr/bin/env bash
# `sluice status` reads a running server's /_sluice/status: a table by
# default, the document itself with --json; no server is a one-line error.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/examples/streaming.c"

curl -sSf --no-buffer "$BASE/stream_me" >/dev/null || fail "GET /stream_me failed"

"$SLUICE" status --port "$PORT" >"$TMP/table" 2>"$TMP/err" || fail "status exited $?: $(cat "$TMP/err")"
grep -Eq '^stream_me +web' "$TMP/table" || fail "no stream_me line: $(cat "$TMP/table")"
grep -Eq '^ +calls +started 1 ' "$TMP/table" || fail "not 1 call started: $(cat "$TMP/table")"
pid=$(status stream_me 'f["containers"][0]["pid"]')
grep -Eq "^ +[0-9]+ +$pid +[a-z]+ +[0-9]+$" "$TMP/table" || fail "no line for container $pid: $(cat "$TMP/table")"
pass "table shows the function, its call and its container"

"$SLUICE" status --port "$PORT" --json >"$TMP/json" 2>"$TMP/err" || fail "status --json exited $?: $(cat "$TMP/err")"
$PY -m json.tool "$TMP/json" >/dev/null || fail "--json output is not JSON: $(cat "$TMP/json")"
grep -q '"name": "stream_me"' "$TMP/json" || fail "--json lacks stream_me: $(cat "$TMP/json")"
pass "--json prints the status document"

# A port that was free a moment ago: nothing listens there.
free=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if "$SLUICE" status --port "$free" >"$TMP/out" 2>"$TMP/err"; then
    fail "status succeeded with nothing listening on $free"
fi
grep -q "^sluice status: cannot connect to 127.0.0.1:$free: " "$TMP/err" || fail "no 'cannot connect': $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "error is not one line: $(cat "$TMP/err")"
pass "no server: non-zero exit and a 'cannot connect' line"

rc=0
"$SLUICE" status --port nope >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a bad --port exited $rc, not 2"
pass "bad option: usage error"
