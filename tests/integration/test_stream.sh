#!/usr/bin/env bash
# The seed's example: ten events arrive one by one, about 5 s in all, over
# HTTP/1.1 and HTTP/2, with the event-stream headers.
source "$(dirname "$0")/lib.sh"
start_server "$SRC/examples/streaming.c"

# stamp: prefixes each line read with the seconds since $1.
stamp() { while IFS= read -r line; do
    if [ -n "$line" ]; then printf '%s %s\n' "$(calc "$(date +%s.%N) - $1")" "$line"; fi; done; }
# calc EXPR: floating-point arithmetic and comparisons (1 or 0).
calc() { awk "BEGIN { x = $1; printf(\"%.3f\", x) }"; }
is() { [ "$(awk "BEGIN { print (($1) ? 1 : 0) }")" = 1 ]; }

check_run() {
    local proto=$1 out=$TMP/events.$1
    local t0; t0=$(date +%s.%N)
    curl -sS --no-buffer $2 -D "$TMP/headers.$proto" "$BASE/stream_me" | stamp "$t0" >"$out"
    [ "$(wc -l <"$out")" -eq 10 ] || fail "$proto: expected 10 events, got: $(cat "$out")"
    for i in $(seq 0 9); do
        sed -n "$((i + 1))p" "$out" | grep -q " data: some data $i\$" || fail "$proto: event $i wrong: $(cat "$out")"
    done
    local first last
    first=$(head -1 "$out" | cut -d' ' -f1); last=$(tail -1 "$out" | cut -d' ' -f1)
    # progressive: the first event comes at once, the last ~4.5 s later
    is "$first < 1.5" || fail "$proto: first event only after ${first}s"
    is "$last - $first > 4.0 && $last - $first < 6.5" ||
        fail "$proto: events spread over $(calc "$last - $first")s, not ~4.5s"
    grep -qi '^content-type: text/event-stream' "$TMP/headers.$proto" || fail "$proto: content-type"
    grep -qi '^cache-control: no-cache' "$TMP/headers.$proto" || fail "$proto: cache-control"
    grep -qi '^x-accel-buffering: no' "$TMP/headers.$proto" || fail "$proto: x-accel-buffering"
    pass "$proto: 10 events over $(calc "$last - $first")s, first after ${first}s"
}

check_run http1 "--http1.1" &
h1=$!
check_run http2 "--http2-prior-knowledge"
wait $h1 || exit 1
grep -qi '^transfer-encoding: chunked' "$TMP/headers.http1" || fail "http1: not chunked"
grep -q '^HTTP/2 200' "$TMP/headers.http2" || fail "http2: not HTTP/2"
