#!/usr/bin/env bash
# The server keeps a memory reserve (--memory-reserve, src/server/reserve.c):
# its heap is faulted in before it says it is ready, so a burst of streams
# within the reserve makes the server no new pages; 0 turns it off.
source "$(dirname "$0")/lib.sh"
[ -x "$SL_LOAD" ] || fail "SL_LOAD not built"
APP="$SRC/examples/streaming.c"

for bad in 2000 -1 x; do
    if "$SLUICE" serve "$APP" --port 0 --memory-reserve "$bad" >"$TMP/bad.out" 2>&1; then
        fail "--memory-reserve $bad was taken"
    fi
    grep -q -- '--memory-reserve wants 0..1024' "$TMP/bad.out" || fail "--memory-reserve $bad: $(head -1 "$TMP/bad.out")"
done
pass "--memory-reserve refuses 2000, -1 and x with a reason"

# burst_growth: 2,000 of the seed's streams at once; prints the server's RSS
# growth (KiB) from before the burst to its middle, after checking that all
# of them completed.
burst_growth() {
    local before during
    before=$(rss_kb "$SERVER_PID")
    "$SL_LOAD" --url "$BASE/stream_me" -c 2000 --expect-events 10 --interval 0.5 --timeout 60 --json -q >"$TMP/load.json" &
    local load=$!
    sleep 3
    during=$(rss_kb "$SERVER_PID")
    wait "$load" || fail "sl-load failed: $(cat "$TMP/load.json")"
    grep -q '"ok":2000' "$TMP/load.json" || fail "not every stream completed: $(cat "$TMP/load.json")"
    echo $((during - before))
}

start_server "$APP"
if under_asan; then
    # ASan's malloc takes no M_TOP_PAD: the server says so and serves on.
    grep -q 'no memory reserve' "$TMP/server.err" || fail "no word about the missing reserve under ASan: $(cat "$TMP/server.err")"
    grow=$(burst_growth)
    pass "under ASan the server says it has no memory reserve and serves 2,000 streams (grew $((grow / 1024)) MB)"
    exit 0
fi
rss=$(rss_kb "$SERVER_PID")
[ "$rss" -ge $((32 * 1024)) ] || fail "a ready server holds $rss KiB, less than its default reserve of 32 MiB"
with=$(burst_growth)
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
start_server "$APP" --memory-reserve 0
idle=$(rss_kb "$SERVER_PID")
[ "$idle" -lt $((64 * 1024)) ] || fail "with --memory-reserve 0 a ready server holds $idle KiB"
without=$(burst_growth)
[ "$with" -lt $((without / 2)) ] || fail "2,000 streams grew the server $with KiB with its reserve, $without KiB without"
pass "ready with $((rss / 1024)) MB resident (--memory-reserve 0: $((idle / 1024)) MB); 2,000 streams grew it $((with / 1024)) MB with the reserve, $((without / 1024)) MB without"
