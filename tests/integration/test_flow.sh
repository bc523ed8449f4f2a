#!/usr/bin/env bash
# Flow control: a client that reads nothing holds the server's memory flat
# (the generator pauses in sl_yield), and past the write deadline the
# client is dropped and its call cancelled.
source "$(dirname "$0")/lib.sh"
# No memory reserve: the server's RSS shows what each stream costs it.
start_server "$SRC/tests/integration/apps/testapp.c" --write-timeout 3 --memory-reserve 0

rss0=$(rss_kb "$SERVER_PID")
# Four clients send a request and never read.
$PY - "$PORT" <<'PYEOF' &
import socket, sys, time
socks = []
for _ in range(4):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
time.sleep(8)
PYEOF
reader=$!
sleep 2
rss1=$(rss_kb "$SERVER_PID")
grow=$((rss1 - rss0))
# 4 streams x 256 KiB window (+ h2o's own buffers): far below 32 MiB
[ "$grow" -lt 32768 ] || fail "server grew by ${grow} KiB with 4 stalled clients"
pass "4 stalled clients: server grew ${grow} KiB (bounded by the per-call window)"
wait_for 10 "stalled clients dropped" holds big 'f["calls"]["cancelled"] == 4'
generators_stopped() { [ "$(grep -c 'big: cancelled after' "$TMP/server.out")" = 4 ]; }
wait_for 5 "generators stopped" generators_stopped
grep 'big: cancelled after' "$TMP/server.out" | while read -r _ _ _ n _; do
    [ "$n" -lt 200 ] || fail "a generator ran ahead by $n chunks of 64 KiB"
done
grep -q 'client read nothing for 3 s' "$TMP/server.err" || fail "no log line for the dropped client"
pass "stalled clients dropped after the write deadline; generators paused then stopped"
kill $reader 2>/dev/null || true
