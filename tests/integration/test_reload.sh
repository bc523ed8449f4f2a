#!/usr/bin/env bash
# sluice serve rebuilds and reloads when app.c changes: new requests get the
# new code (added functions too), streams in flight finish on the old
# containers, and a build that fails keeps the previous one serving.
source "$(dirname "$0")/lib.sh"
cat >"$TMP/app.c" <<'CEOF'
#include <sluice.h>
static int version(sl_call *c) { return sl_returnf(c, "v1\n"); }
SL_WEB_ENDPOINT(version);
static int slow(sl_call *c)
{
    for (int i = 0; i < 10; i++)
        if (sl_yieldf(c, "data: %d\n\n", i) < 0 || sl_sleep(c, 0.3) < 0)
            return 0;
    return 0;
}
SL_WEB_ENDPOINT(slow, .content_type = "text/event-stream");
CEOF
start_server "$TMP/app.c"
[ "$(curl -sS "$BASE/version")" = v1 ] || fail "v1"

curl -sS --no-buffer "$BASE/slow" >"$TMP/slow" & slow=$!
sleep 0.5
sed -i 's/"v1\\n"/"v2\\n"/' "$TMP/app.c"
is_v2() { [ "$(curl -sS "$BASE/version")" = v2 ]; }
wait_for 15 "the new build serving" is_v2
wait $slow || fail "the stream in flight was cut by the reload"
[ "$(grep -c '^data:' "$TMP/slow")" = 10 ] || fail "the stream in flight lost events: $(cat "$TMP/slow")"
grep -q 'reloaded' "$TMP/server.err" || fail "no log line for the reload"
pass "after an edit new requests get the new code; the stream in flight finished whole"

printf 'this is not C\n' >>"$TMP/app.c"
build_failed() { grep -q 'the build failed' "$TMP/server.err"; }
wait_for 15 "the failed build noticed" build_failed
[ "$(curl -sS "$BASE/version")" = v2 ] || fail "a failed build took the server down"
pass "a build that fails leaves the previous one serving"

sed -i '$d' "$TMP/app.c"
cat >>"$TMP/app.c" <<'CEOF'
static int added(sl_call *c) { return sl_returnf(c, "new endpoint\n"); }
SL_WEB_ENDPOINT(added);
CEOF
is_added() { [ "$(curl -sS "$BASE/added")" = "new endpoint" ]; }
wait_for 15 "the added endpoint" is_added
[ "$(curl -sS "$BASE/version")" = v2 ] || fail "old endpoint lost after adding one"
pass "an endpoint added to app.c is served after the reload"
