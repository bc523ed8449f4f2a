#!/usr/bin/env bash
# The request reaches the function whole; the function's status, headers
# and content type reach the client; a returned body has a Content-Length.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/tests/integration/apps/testapp.c" --ping-interval 1

curl -sS -D "$TMP/h" -o "$TMP/b" "$BASE/headers"
grep -q '^HTTP/1.1 201' "$TMP/h" || fail "status not 201: $(cat "$TMP/h")"
grep -qi '^x-test: yes' "$TMP/h" || fail "custom header missing"
grep -qi '^content-type: application/json' "$TMP/h" || fail "content type not set"
grep -qi '^content-length: ' "$TMP/h" || fail "returned body without Content-Length"
grep -q '"bad_header": -22' "$TMP/b" || fail "a header with CR/LF was not refused: $(cat "$TMP/b")"
pass "status, headers, content type, Content-Length"

out=$(curl -sS -X POST -H 'X-Agent: tester' --data-binary 'hello body' "$BASE/echo?who=a%20b&x=1")
grep -q '^method=POST path=/echo who=a b agent=tester$' <<<"$out" || fail "request fields: $out"
grep -q '^body=hello body$' <<<"$out" || fail "body: $out"
grep -q '^late_status=-114$' <<<"$out" || fail "status after the first yield not refused: $out"
pass "method, path, query, header, body reach the function"

curl -sS --no-buffer "$BASE/silent" >"$TMP/sse"
grep -q '^: ping' "$TMP/sse" || fail "no ping on an idle event stream: $(cat "$TMP/sse")"
grep -q '^data: finally' "$TMP/sse" || fail "event after the pings lost"
pass "idle event stream gets ': ping' comments"

# The server's own paths, with any method: an answer each, and the server
# still serving after them.
[ "$(curl -sS "$BASE/_sluice/health")" = ok ] || fail "health: $(curl -sS "$BASE/_sluice/health")"
for m in GET HEAD POST PUT DELETE; do
    for p in health status nope call/ spawn/ result/ call/nope result/zz; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X "$m" "$BASE/_sluice/$p" --max-time 5 || true)
        case $code in 200 | 4[0-9][0-9]) ;; *) fail "$m /_sluice/$p: $code" ;; esac
    done
done
grep -q '^HTTP/1.1 200' <<<"$(curl -sS -I "$BASE/_sluice/health")" || fail "HEAD health"
[ "$(curl -sS "$BASE/_sluice/health")" = ok ] || fail "the server stopped answering after its own paths"
pass "the server's own paths answer any method with 200 or a 4xx; /_sluice/health says ok"
