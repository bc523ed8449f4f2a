#!/usr/bin/env bash
# The seed's fourth example: blocking work, then a map streamed as SSE;
# many concurrent requests all stream progressively.
source "$(dirname "$0")/lib.sh"
[ -x "$SL_LOAD" ] || fail "SL_LOAD not built"
start_server "$SRC/examples/transcribe.c" --quiet

curl -sS --no-buffer "$BASE/transcribe_video?segments=6" >"$TMP/one"
[ "$(grep -c '^data: segment [0-5]: transcribed$' "$TMP/one")" = 6 ] || fail "one request: $(cat "$TMP/one")"
[ "$(grep '^data:' "$TMP/one" | sort | uniq | wc -l)" = 6 ] || fail "segments lost or repeated"
pass "one request streams its 6 segments"

"$SL_LOAD" --url "$BASE/transcribe_video?segments=8" -c 30 --expect-events 8 --timeout 60 --json >"$TMP/load.json" ||
    fail "not every client got its 8 events: $(cat "$TMP/load.json")"
# progressive: every client's first event came well before the usual last
$PY - "$TMP/load.json" <<'PYEOF' || fail "not progressive: $(cat "$TMP/load.json")"
import json, sys
d = json.load(open(sys.argv[1]))
first_p99, last_p50 = d["first_event_ms"]["p99"], d["lateness_ms"]["p50"]
print(f"first event p99 {first_p99:.0f} ms, last event p50 {last_p50:.0f} ms")
sys.exit(0 if first_p99 + 200 < last_p50 else 1)
PYEOF
pass "30 concurrent requests each stream 8 segments progressively"
