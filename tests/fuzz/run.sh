#!/usr/bin/env bash
# run.sh: runs each libFuzzer target for a bounded time (make fuzz).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Each target starts from its committed corpus (tests/fuzz/corpus/<t>,
# only read) and writes the new inputs it finds to BUILD_DIR/fuzz-corpus/<t>
# (scratch, never committed), crashes to BUILD_DIR/fuzz-crashes/<t>/.
# One target at a time, one process each: the machine is shared.
# Exits 1 if any target crashed; prints execs/s and new inputs per target.
set -uo pipefail
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

# msgpack-c reserves room for the counts a value claims (docs/limits.md),
# up to ~100 GiB for a 6-byte input. One allocation past FUZZ_MAX_ALLOC_MB
# (64 MiB: libFuzzer itself takes ~20 at once) fails as malloc does under a
# memory limit, so the decoders' handling of that failure is fuzzed, and
# is not reported as an out-of-memory crash; it also keeps such inputs
# fast (ASan poisons the shadow of every big block it hands out).
export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=${FUZZ_MAX_ALLOC_MB:-64}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

summary=() failed=0
for t in "$@"; do
  scratch=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t
  log=$build/fuzz-$t.log
  mkdir -p "$scratch" "$crashes"
  extra=()
  [[ -f $src/$t.dict ]] && extra+=("-dict=$src/$t.dict")
  echo "== $t: ${seconds}s (log: $log)"
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${extra[@]}" ${FUZZ_FLAGS:-} \
    "$scratch" "$src/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  found=$(find "$scratch" -type f | wc -l)
  if ((rc != 0)); then
    failed=1
    grep -m1 -E 'ERROR:|fuzz check failed|runtime error' "$log"
    summary+=("$t: CRASHED (rc $rc): $(ls "$crashes" | tr '\n' ' ')")
  else
    summary+=("$t: ok, ${execs:-?} execs, ${rate:-?} exec/s, $found inputs in $scratch")
  fi
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $failed
