#!/usr/bin/env bash
# An app that does not compile: the compiler's message, and a non-zero exit.
source "$(dirname "$0")/lib.sh"
printf '#include <sluice.h>\nstatic int f(sl_call *c) { return undefined_thing; }\nSL_WEB_ENDPOINT(f);\n' >"$TMP/bad.c"
rc=0; "$SLUICE" serve "$TMP/bad.c" --port 0 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "serve of a broken app exited 0"
grep -q "undefined_thing" "$TMP/err" || fail "compiler message not shown: $(cat "$TMP/err")"
grep -q "bad.c:2" "$TMP/err" || fail "no file:line in the message"
pass "compile error shown, exit $rc"

printf '#include <sluice.h>\n' >"$TMP/empty.c"
rc=0; "$SLUICE" serve "$TMP/empty.c" --port 0 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "serve of an app without functions exited 0"
grep -q "declares no functions" "$TMP/err" || fail "no reason for the empty app: $(cat "$TMP/err")"
pass "app without functions refused, exit $rc"
