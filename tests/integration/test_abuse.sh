#!/usr/bin/env bash
# Abusive clients never delay a normal one: hundreds of connections that
# trickle their headers (slowloris), oversized header blocks and bodies
# (refused with 431 / 413 and a reason), and a thousand clients reading a
# firehose slowly (server memory stays flat; the generators pause).
source "$(dirname "$0")/lib.sh"
# No memory reserve: the server's RSS shows what each stream costs it.
start_server "$SRC/tests/integration/apps/testapp.c" --memory-reserve 0

# latency of one normal request, in ms
# A normal request "not delayed" by the abuse: answered well inside the
# abuse's own duration (6 s and more), so one that waited for it would
# fail; the margin is for a busy 2-core machine under ASan.
SLOW_MS=3000
normal_ms() { curl -sS -m 10 -o /dev/null -w '%{time_total}' "$BASE/hello" | awk '{ printf "%d", $1 * 1000 + 0.999 }'; }

curl -sS -m 5 "$BASE/hello" >/dev/null || fail "no /hello"

# 300 connections, each sending its request line and then a header byte
# every 0.5 s, for 6 s
$PY - "$PORT" 300 6 <<'PYEOF' &
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    socks.append(s)
end = time.time() + secs
while time.time() < end:
    for s in socks:
        try: s.send(b"a")
        except OSError: pass
    time.sleep(0.5)
PYEOF
LORIS=$!
sleep 1.5
worst=0
for _ in $(seq 1 10); do
    ms=$(normal_ms); [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.2
done
kill $LORIS 2>/dev/null; wait $LORIS 2>/dev/null || true
[ "$worst" -lt "$SLOW_MS" ] || fail "a normal request took $worst ms during a slowloris"
pass "300 slowloris connections: normal requests answered meanwhile (slowest $worst ms)"

# header bytes past 32 KiB: 431 with a reason; more headers than h2o takes
# (100 over HTTP/1.1): its 400; a body past 16 MiB: 413
for kb in 40 100; do
    big=$(head -c $((kb * 1000)) /dev/zero | tr '\0' a)
    code=$(curl -sS -o "$TMP/b" -w '%{http_code}' -H "X-Big: $big" "$BASE/hello")
    [ "$code" = 431 ] && grep -q 'the limit is 32768' "$TMP/b" || fail "a $kb KB header: HTTP $code $(cat "$TMP/b")"
done
big=$(head -c 40000 /dev/zero | tr '\0' a)
code=$(curl -sS -o "$TMP/b" -w '%{http_code}' --http2-prior-knowledge -H "X-Big: $big" "$BASE/hello")
[ "$code" = 431 ] || fail "a 40 KB header over HTTP/2: HTTP $code $(cat "$TMP/b")"
args=(); for i in $(seq 1 300); do args+=(-H "X-H$i: v"); done
code=$(curl -sS -o "$TMP/b" -w '%{http_code}' "${args[@]}" "$BASE/hello")
[ "$code" = 400 ] || fail "300 headers: HTTP $code $(cat "$TMP/b")"
head -c $((17 * 1024 * 1024)) /dev/zero >"$TMP/body"
code=$(curl -sS -o "$TMP/b" -w '%{http_code}' -X POST --data-binary @"$TMP/body" "$BASE/echo")
[ "$code" = 413 ] || fail "a 17 MiB body: HTTP $code"
ms=$(normal_ms)
[ "$ms" -lt "$SLOW_MS" ] || fail "a normal request took $ms ms after oversized requests"
pass "40 KB of headers: 431 with a reason (HTTP/1.1 and 2), 100 KB too (HTTP/1.1); 300 headers: 400; a 17 MiB body: 413; normal requests unaffected"

# 1,000 clients reading slowly (100 bytes every 0.5 s, small receive
# buffers): the server holds at most the per-call window for each, so its
# memory stops growing once the windows are full, and each generator pauses
# in sl_yield (it makes at most a window's worth more than its client read).
rss0=$(rss_kb "$SERVER_PID")
# The readers go on until $TMP/stop exists (at most 60 s): how long the
# windows take to fill depends on how busy the machine is.
$PY - "$PORT" 1000 60 "$TMP/stop" "$TMP/connected" >"$TMP/slow.out" <<'PYEOF' &
import os, socket, sys, time
port, n, secs, stop, connected = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /lines HTTP/1.1\r\nHost: x\r\n\r\n")
    s.setblocking(False)
    socks.append(s)
open(connected, "w").close()
got = 0
end = time.time() + secs
while time.time() < end and not os.path.exists(stop):
    for s in socks:
        try: got += len(s.recv(100))
        except BlockingIOError: pass
    time.sleep(0.5)
print(got)
for s in socks: s.close()
PYEOF
SLOW=$!
ASAN=0; ! under_asan || ASAN=1
wait_for 30 "1,000 slow readers connected" test -e "$TMP/connected"
# The windows are full once the server stops growing: under 4 MB in each of
# two seconds in a row. Not before it holds half a window (128 KiB) a
# stream: first the kernel's socket buffers take what the generators make
# (up to tcp_wmem's maximum a socket, until tcp_mem's pressure), and the
# server can stand still for seconds meanwhile, its growth all ahead. A
# paused stream holds at least the window less a credit step (192 KiB).
windows_full() {
    local a b c
    a=$(rss_kb "$SERVER_PID"); sleep 1; b=$(rss_kb "$SERVER_PID"); sleep 1; c=$(rss_kb "$SERVER_PID")
    [ $((c - rss0)) -ge $((1000 * 128)) ] && [ $((b - a)) -lt 4096 ] && [ $((c - b)) -lt 4096 ]
}
full=0
for _ in $(seq 1 20); do if windows_full; then full=1; break; fi; done
[ "$full" = 1 ] || [ "$ASAN" = 1 ] || fail "the server did not fill the windows and stop growing within 40 s of slow readers: $rss0 -> $(rss_kb "$SERVER_PID") KiB"
rss1=$(rss_kb "$SERVER_PID")
ms=$(normal_ms)
sleep 3
rss2=$(rss_kb "$SERVER_PID")
touch "$TMP/stop"
wait $SLOW
read_total=$(cat "$TMP/slow.out")
[ "$ms" -lt "$SLOW_MS" ] || fail "a normal request took $ms ms beside 1,000 slow readers"
# bounded by the window: 256 KiB per stream, plus the request's own memory
# and the allocator's slack (290 to 340 KiB a stream measured, from run to
# run of the same code; a server without flow control would hold all that
# the generators made, megabytes each); flat: the last 3 s added little (the
# windows were full). Not under ASan, whose quarantine keeps up to 256 MB of
# freed memory by design.
if [ "$ASAN" = 0 ]; then
    [ $((rss1 - rss0)) -lt $((1000 * 400)) ] || fail "server grew $((rss1 - rss0)) KiB for 1,000 slow readers"
    [ $((rss2 - rss1)) -lt 32768 ] || fail "server kept growing: $rss1 -> $rss2 KiB"
fi
generators_paused() { [ "$(grep -c 'lines: cancelled after' "$TMP/server.out")" = 1000 ]; }
wait_for 30 "the 1,000 generators ended" generators_paused
made=$(awk '/lines: cancelled after/ { s += $4 } END { print s }' "$TMP/server.out")
# what they made beyond what was read: at most the window (256 KiB) and
# what the kernel's socket buffer took (up to tcp_wmem's maximum) each
ahead=$(( (made * 1024 - read_total) / 1000 / 1024 ))
wmem_kb=$(( $(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem) / 1024 ))
[ "$ahead" -le $((wmem_kb + 512)) ] || fail "generators ran ${ahead} KiB ahead of their readers on average"
pass "1,000 slow readers: server +$(( (rss1 - rss0) / 1024 )) MB, then +$(( (rss2 - rss1) / 1024 )) MB over 3 s; generators paused ${ahead} KiB ahead on average (window + socket buffer); a normal request took $ms ms"
