#!/usr/bin/env bash
# GPU placement against a declared inventory: the seed's second example
# streams through a CPU endpoint; GPU containers see their own devices and
# CPU ones none; with one GPU a second GPU call waits, then runs; a request
# no inventory can meet stops serve.
source "$(dirname "$0")/lib.sh"
export SLUICE_GPUS=fake:1
start_server "$SRC/examples/gpu_stream.c"
grep -q 'GPUs: 1 (SLUICE_GPUS=fake:1)' "$TMP/server.out" || fail "inventory not reported"

t0=$(date +%s.%N)
curl -sS --no-buffer "$BASE/hook" | while IFS= read -r line; do
    [ -n "$line" ] && echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') $line"
done >"$TMP/events" || true
[ "$(grep -c 'data: finished processing some data from GPU' "$TMP/events")" = 10 ] || fail "/hook: $(cat "$TMP/events")"
first=$(head -1 "$TMP/events" | cut -d' ' -f1); last=$(tail -1 "$TMP/events" | cut -d' ' -f1)
awk -v f="$first" -v l="$last" 'BEGIN { exit !(f < 1.5 && l - f > 8.0 && l - f < 11.5) }' ||
    fail "events not ~1 s apart: first at $first s, last at $last s"
pass "/hook streams the GPU generator's 10 events about 1 s apart ($first s .. $last s)"
holds fake_video_render 'f["containers_lifecycle"]["started"] == 1' || fail "no GPU container"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

start_server "$SRC/tests/integration/apps/lifecycle.c"
out=$(curl -sS "$BASE/devices")
[ "$out" = "endpoint=[] gpu_function=[0]" ] || fail "devices: $out"
pass "the GPU container sees CUDA_VISIBLE_DEVICES=0, the endpoint's sees none"

t0=$(date +%s.%N)
curl -sS "$BASE/gpu_hold" >"$TMP/a" & a=$!
curl -sS "$BASE/gpu_hold" >"$TMP/b"
wait $a
t=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
grep -q 'held GPU 0' "$TMP/a" && grep -q 'held GPU 0' "$TMP/b" || fail "gpu_hold: $(cat "$TMP/a" "$TMP/b")"
# one GPU: the calls run one after the other (2 x 1.5 s), not side by side
awk -v t="$t" 'BEGIN { exit !(t >= 2.9) }' || fail "two calls on one GPU overlapped (${t} s)"
pass "with one GPU the second call waited, then ran (${t} s for both)"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

printf '#include <sluice.h>\nstatic int f(sl_call *c) { return sl_returnf(c, "x"); }\nSL_FUNCTION(f, .gpu = "H100:2");\n' >"$TMP/h100.c"
rc=0; SLUICE_GPUS=fake:1 "$SLUICE" serve "$TMP/h100.c" --port 0 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] && grep -q 'wants gpu "H100:2"' "$TMP/err" || fail "unsatisfiable GPU request: rc=$rc $(cat "$TMP/err")"
pass "a GPU request the inventory can never meet stops serve: $(head -1 "$TMP/err")"
