#!/usr/bin/env bash
# sluice run / sluice map: a function's outputs and results on stdout as they
# stream, errors on stderr with a non-zero exit.
source "$(dirname "$0")/lib.sh"

[ "$("$SLUICE" run "$SRC/examples/map.c" map_me 7)" = "segment 7" ] || fail "run map_me 7"
[ "$("$SLUICE" run "$SRC/tests/integration/apps/calls.c" add 1 2 3)" = "+1+2+36" ] || fail "run add 1 2 3"
pass "sluice run prints outputs, then the return value"

"$SLUICE" map "$SRC/examples/map.c" map_me --range 0:500 >"$TMP/map" 2>"$TMP/err"
seq 0 499 | sed 's/^/segment /' | cmp -s - "$TMP/map" || fail "map --range 0:500: $(head -3 "$TMP/map")"
grep -q '\[' "$TMP/err" && fail "a progress bar on a stderr that is not a terminal"
"$SLUICE" map "$SRC/examples/map.c" map_me --range 0:200 --unordered | sort -k2 -n >"$TMP/u"
seq 0 199 | sed 's/^/segment /' | cmp -s - "$TMP/u" || fail "unordered map lost results"
pass "sluice map prints every result (in order, or all of them unordered); no progress bar off a terminal"

# on a terminal (tmux-less: script(1) gives stderr a pty) the bar appears
if command -v script >/dev/null; then
    script -qec "$SLUICE map $SRC/examples/map.c map_me --range 0:300 >/dev/null" /dev/null >"$TMP/tty" 2>&1 || true
    grep -q '300/300' "$TMP/tty" || fail "no progress bar on a terminal: $(tail -c 300 "$TMP/tty")"
    pass "a progress bar (done/total, rate, ETA) on a terminal"
fi

rc=0; "$SLUICE" run "$SRC/tests/integration/apps/calls.c" crashing >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] && grep -q 'crashing failed: container .* signal 11' "$TMP/err" || fail "crash: rc=$rc $(cat "$TMP/err")"
rc=0; "$SLUICE" run "$SRC/tests/integration/apps/calls.c" nope >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] && grep -q 'no function named nope' "$TMP/err" || fail "unknown: rc=$rc $(cat "$TMP/err")"
pass "failures: a reason on stderr and a non-zero exit"

printf '5\n\n7\n9\n' >"$TMP/in"
[ "$("$SLUICE" map "$SRC/examples/map.c" map_me --inputs "$TMP/in" | tr '\n' ' ')" = "segment 5 segment 7 segment 9 " ] ||
    fail "map --inputs"
printf '[1, 2]\n[3, 4, 5]\n' | "$SLUICE" map "$SRC/tests/integration/apps/calls.c" add --inputs - >"$TMP/sums"
[ "$(cat "$TMP/sums")" = "312" ] || fail "starmap-style inputs: $(cat "$TMP/sums")"
rc=0; printf '1\n{oops\n' | "$SLUICE" map "$SRC/examples/map.c" map_me --inputs - >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] && grep -q -- '-:2: not JSON' "$TMP/err" || fail "bad input line: rc=$rc $(cat "$TMP/err")"
pass "sluice map --inputs FILE: one JSON value per line (a list is an argument list); bad lines named"

# inputs from a file larger than one chunk, and from a pipe
seq 0 120000 >"$TMP/many"
bounded 60 "map --inputs of 120,001 lines" "$SLUICE" map "$SRC/examples/map.c" map_me --inputs "$TMP/many" >"$TMP/many.out" ||
    fail "map --inputs of 120,001 lines"
seq 0 120000 | sed 's/^/segment /' | cmp -s - "$TMP/many.out" || fail "map --inputs of 120,001 lines: wrong output"
bounded 30 "map --inputs -" "$SLUICE" map "$SRC/examples/map.c" map_me --inputs - <<<"$(seq 0 9)" >"$TMP/pipe.out" ||
    fail "map --inputs -"
[ "$(tail -1 "$TMP/pipe.out")" = "segment 9" ] || fail "map --inputs -: $(cat "$TMP/pipe.out")"
pass "sluice map --inputs streams a 120,001-line file through in chunks, in order; and reads a pipe"
