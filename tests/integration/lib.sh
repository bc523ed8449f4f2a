# lib.sh: shared by the integration tests. Each test starts a real server
# (`sluice serve APP --port 0`) and talks to it with real clients.
set -euo pipefail

: "${SLUICE:?path to the sluice binary}"
: "${SRC:?path to the source tree}"
SL_LOAD=${SL_LOAD:-}
TMP=$(mktemp -d)
SERVER_PID=
PY=/usr/bin/python3

cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        # Under SAN=1 a sanitizer report from the server, the zygote or a
        # container fails the test, even if what the client saw was right.
        if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$TMP/server.err" 2>/dev/null; then
            echo "FAIL: sanitizer report:" >&2
            grep -A30 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$TMP/server.err" | head -60 >&2
            rc=1
        fi
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$TMP/server.out" ]; then
        echo "--- server stdout" >&2; cat "$TMP/server.out" >&2
        echo "--- server stderr" >&2; cat "$TMP/server.err" >&2
    fi
    exit 1
}

pass() { echo "ok: $*"; }

# start_server APP [serve options...]: sets PORT and BASE.
start_server() {
    local app=$1; shift
    "$SLUICE" serve "$app" --port 0 "$@" >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if grep -q '^sluice: ready' "$TMP/server.out" 2>/dev/null; then
            PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/server.out" | head -1 | cut -d: -f3)
            BASE="http://127.0.0.1:$PORT"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited before it was ready"
        sleep 0.1
    done
    fail "server not ready after 30 s"
}

server_pid() { echo "$SERVER_PID"; }

# status FN EXPR: evaluates a Python expression over function FN's entry of
# /_sluice/status (bound as f), e.g. status stream_me 'f["calls"]["cancelled"]'
status() {
    curl -sf "$BASE/_sluice/status" | $PY -c '
import json, sys
doc = json.load(sys.stdin)
f = [x for x in doc["functions"] if x["name"] == sys.argv[1]][0]
print(eval(sys.argv[2]))' "$1" "$2"
}

# holds FN EXPR: succeeds when EXPR (over f, as in status) is true, e.g.
#   wait_for 5 "call cancelled" holds slow_events 'f["calls"]["cancelled"] == 1'
holds() { [ "$(status "$1" "bool($2)")" = True ]; }

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds.
wait_for() {
    local secs=$1 what=$2; shift 2
    local tries=$((secs * 10))
    for _ in $(seq 1 "$tries"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail "timed out after ${secs}s waiting for: $what"
}

# under_asan: whether the sluice under test is a sanitizer build.
#
# A rule for these scripts: never pipe a command into `grep -q` (`echo
# "$out" | grep -q`, `ldd | grep -q`, `curl | grep -q`). grep -q leaves at
# its first match, a writer still writing then dies of SIGPIPE, and with
# pipefail the whole test reads that as "no match": a flaky failure. Feed
# grep a here-string (grep -q PATTERN <<<"$out") instead.
under_asan() { case "$(ldd "$SLUICE")" in *libasan*) return 0 ;; *) return 1 ;; esac; }

# rss_kb PID: resident memory of a process.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# kill_tree PID: kills a process and every descendant (a CLI's own server,
# its zygote and containers).
kill_tree() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
    kill -9 "$1" 2>/dev/null || true
}

# bounded SECS WHAT CMD...: runs CMD (redirections apply to it). Past SECS
# it prints what each sluice process was doing, and what every server in
# CMD's tree reports on /_sluice/status, then fails naming WHAT: a hang
# names its step and leaves evidence instead of running into ctest's timeout.
bounded() {
    local secs=$1 what=$2 pid; shift 2
    "$@" <&0 &
    pid=$!
    for _ in $(seq 1 $((secs * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; return $?; fi
        sleep 0.1
    done
    {
        echo "--- $what: still running after ${secs}s; the sluice processes:"
        ps -eo pid,ppid,stat,etime,wchan:24,args --forest | grep -E 'sluice|PID' | grep -v grep
        local p port
        for p in $(pgrep -f 'sluice serve'); do
            port=$(ss -ltnpH 2>/dev/null | grep "pid=$p," | grep -o '127.0.0.1:[0-9]*' | head -1)
            [ -n "$port" ] && echo "--- status of server $p ($port)" && curl -s -m 5 "http://$port/_sluice/status"
        done
    } >&2
    kill_tree "$pid"
    fail "$what: still running after ${secs}s"
}
