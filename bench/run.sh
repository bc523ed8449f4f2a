#!/usr/bin/env bash
# bench/run.sh [--quick]: sluice against its peer (the seed's FastAPI + uvicorn)
# on the same machine, same workloads, one run.
#
#   (a) firehose   one client reads N tiny SSE events as fast as they come
#   (b) hello      wrk -t2 -c64 on a trivial GET
#   (c) stream_me  many clients, each 10 events 0.5 s apart (the seed's endpoint)
#   (d) RSS        of each server process, sampled every 0.5 s during (c)
#
# Results: a table on stdout, bench/out/results.md and bench/out/results.csv,
# with the command that produced each figure. Logs and raw JSON in bench/out/.
# Without build/sluice the sluice side is skipped (peer only).
#
# Environment: PEER_PYTHON (default /usr/bin/python3, Debian's, which has
# fastapi and uvicorn), SLUICE (default build/sluice).
# Commands are kept as strings (printed with each figure) and split on purpose;
# SS/PS/PA are filled through namerefs.
# shellcheck disable=SC2086,SC2034,SC2013,SC2154,SC2178
set -uo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.." || exit 2
OUT=bench/out
mkdir -p "$OUT"

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,15p' "$SELF"; exit 0 ;;
    *) echo "run.sh: unknown argument $a (usage: bench/run.sh [--quick])" >&2; exit 2 ;;
  esac
done

if (( QUICK )); then
  FIRE_N=100000; WRK_D=3s; STREAM_C=100; STREAM_TIMEOUT=30
else
  FIRE_N=1000000; WRK_D=10s; STREAM_C=1000; STREAM_TIMEOUT=180
fi
WRK_ARGS="-t2 -c64 -d$WRK_D"
PY=${PEER_PYTHON:-/usr/bin/python3}
SLUICE=${SLUICE:-build/sluice}
HOST=127.0.0.1

log() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------------ processes
STARTED=()   # pids we started (each the leader of its own process group)
SAMPLERS=()

cleanup() {
  local p
  for p in "${SAMPLERS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${STARTED[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for p in "${STARTED[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.3
  done
  for p in "${STARTED[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start LOGFILE CMD...: run CMD in its own session (so that its children go
# with it on cleanup); sets STARTED_PID.
start() {
  local logf=$1; shift
  setsid "$@" >"$logf" 2>&1 </dev/null &
  STARTED_PID=$!
  STARTED+=("$STARTED_PID")
}

# wait_http URL PID SECONDS: until URL gives any HTTP status (headers suffice:
# a streaming endpoint need not finish), or PID dies, or time runs out.
wait_http() {
  local url=$1 pid=$2 limit=$3 code t0=$SECONDS
  while (( SECONDS - t0 < limit )); do
    kill -0 "$pid" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)
    [[ -n "$code" && "$code" != 000 ]] && return 0
    sleep 0.2
  done
  return 1
}

# ------------------------------------------------------------- sl-load
SL_LOAD=build/bench/sl-load
if [[ ! -x $SL_LOAD || bench/sl_load.c -nt $SL_LOAD ]]; then
  SL_LOAD=$OUT/sl-load
  if [[ ! -x $SL_LOAD || bench/sl_load.c -nt $SL_LOAD ]]; then
    log "building $SL_LOAD (no up-to-date build/bench/sl-load)"
    cc -std=c17 -O2 -Wall -Wextra -D_GNU_SOURCE bench/sl_load.c -o "$SL_LOAD" -lm || exit 2
  fi
fi

# ------------------------------------------------------------- results
ROWS=()     # "workload|metric|sluice|peer|ratio|ref_sluice|ref_peer"
CMDS=()     # numbered commands: CMDS[i] = command text
add_cmd() { CMDS+=("$1"); CMD_REF=${#CMDS[@]}; }
add_row() { ROWS+=("$1|$2|$3|$4|$5|${6:-}|${7:-}"); }

# ratio A B [digits]: A/B when both are numbers and B > 0, else "-"
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf (a / b < 0.1 ? "%.3fx" : "%.2fx"), a / b; else printf "-" }'
}

# jget FILE EXPR: a field of sl-load's JSON line (python expression on j)
jget() {
  "$PY" -c 'import json,sys
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    v = eval(sys.argv[2], {"j": j})
except Exception:
    v = None
print("n/a" if v is None else (("%.1f" % v) if isinstance(v, float) else v))' "$1" "$2"
}

# ----------------------------------------------------------- RSS sampling
# rss_kb PID: VmRSS of PID; tree_rss_kb PID: summed over PID and descendants
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
tree_rss_kb() {
  local s=0 p r
  for p in $(tree_pids "$1"); do r=$(rss_kb "$p"); s=$(( s + ${r:-0} )); done
  echo "$s"
}
sample_start() {   # sample_start PID FILE: one line "proc_kb tree_kb" per 0.5 s
  local pid=$1 f=$2
  : >"$f"
  ( while kill -0 "$pid" 2>/dev/null; do
      echo "$(rss_kb "$pid") $(tree_rss_kb "$pid")" >>"$f"; sleep 0.5; done ) &
  SAMPLER=$!
  SAMPLERS+=("$SAMPLER")
}
sample_stop() {    # sample_stop PID FILE: a final sample, then stop the sampler
  echo "$(rss_kb "$1") $(tree_rss_kb "$1")" >>"$2"
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
}
# rss_peak FILE COL: peak MB; rss_summary FILE COL: "start / peak / end" MB
rss_peak() {
  awk -v c="$2" 'NF >= c { n++; if ($c > m) m = $c } END { if (n) printf "%.1f", m / 1024; else printf "n/a" }' "$1"
}
rss_summary() {
  awk -v c="$2" 'NF >= c { if (!n++) s = $c; if ($c > m) m = $c; e = $c }
    END { if (n) printf "%.1f / %.1f / %.1f MB", s / 1024, m / 1024, e / 1024; else printf "n/a" }' "$1"
}

# ----------------------------------------------------------------- servers
log "starting servers"
HAVE_PEER=0
if "$PY" -c 'import fastapi, uvicorn' 2>/dev/null; then
  PEER_PORT=$(free_port)
  PEER_CMD="$PY -m uvicorn app:app --app-dir bench/peer --host $HOST --port $PEER_PORT --log-level warning --no-access-log"
  start "$OUT/peer.log" $PEER_CMD
  PEER_PID=$STARTED_PID
  if wait_http "http://$HOST:$PEER_PORT/hello" "$PEER_PID" 30; then
    HAVE_PEER=1; note "peer: $PEER_CMD (pid $PEER_PID)"
  else
    note "peer did not answer; log:"; tail -5 "$OUT/peer.log" >&2
  fi
else
  note "peer skipped: $PY lacks fastapi/uvicorn (make bench-deps, or set PEER_PYTHON)"
fi

HAVE_SLUICE=0
SLUICE_WHY=""
if [[ ! -x $SLUICE ]]; then
  SLUICE_WHY="$SLUICE is missing (make build)"
elif [[ ! -f examples/firehose.c || ! -f examples/streaming.c ]]; then
  SLUICE_WHY="examples/firehose.c or examples/streaming.c is missing"
else
  FIRE_PORT=$(free_port)
  FIRE_CMD="$SLUICE serve examples/firehose.c --port $FIRE_PORT"
  start "$OUT/sluice-firehose.log" $FIRE_CMD
  FIRE_PID=$STARTED_PID
  STREAM_PORT=$(free_port)
  while [[ $STREAM_PORT == "$FIRE_PORT" ]]; do STREAM_PORT=$(free_port); done
  STREAM_CMD="$SLUICE serve examples/streaming.c --port $STREAM_PORT"
  start "$OUT/sluice-streaming.log" $STREAM_CMD
  STREAM_PID=$STARTED_PID
  if ! wait_http "http://$HOST:$FIRE_PORT/hello" "$FIRE_PID" 60; then
    SLUICE_WHY="'$FIRE_CMD' did not answer (see $OUT/sluice-firehose.log)"
    tail -5 "$OUT/sluice-firehose.log" >&2
  elif ! wait_http "http://$HOST:$STREAM_PORT/stream_me" "$STREAM_PID" 60; then
    SLUICE_WHY="'$STREAM_CMD' did not answer (see $OUT/sluice-streaming.log)"
    tail -5 "$OUT/sluice-streaming.log" >&2
  else
    HAVE_SLUICE=1
    note "sluice: $FIRE_CMD (pid $FIRE_PID)"
    note "sluice: $STREAM_CMD (pid $STREAM_PID)"
  fi
fi
if (( ! HAVE_SLUICE )); then
  note "SLUICE WORKLOADS SKIPPED: $SLUICE_WHY"
fi
if (( ! HAVE_SLUICE && ! HAVE_PEER )); then
  echo "run.sh: neither sluice nor the peer is running; nothing to measure" >&2
  exit 1
fi
NA="n/a"
(( HAVE_SLUICE )) || NA="skipped"

# -------------------------------------------------------- (a) firehose
log "(a) firehose: one client, n=$FIRE_N"
fire() {  # fire NAME PORT -> FIRE_EPS FIRE_MBPS FIRE_REF
  local name=$1 port=$2 j=$OUT/firehose-$1.json
  local cmd="$SL_LOAD --url http://$HOST:$port/firehose?n=$FIRE_N --bytes --expect-events $FIRE_N --timeout 300 --json -q"
  note "$cmd"
  ( set -f; exec $cmd ) >"$j" 2>"$OUT/firehose-$name.err"
  local rc=$?
  FIRE_EPS=$(jget "$j" 'round(j["events_per_s"])')
  FIRE_MBPS=$(jget "$j" 'j["mb_per_s"]')
  if (( rc != 0 )); then
    note "not every event arrived cleanly: $(head -c 300 "$OUT/firehose-$name.err")"
    FIRE_EPS="$FIRE_EPS (events $(jget "$j" 'j["events"]')/$FIRE_N)"
  fi
  add_cmd "$cmd"; FIRE_REF=$CMD_REF
  note "-> $FIRE_EPS events/s, $FIRE_MBPS MB/s"
}
S_EPS=$NA S_MB=$NA S_REF="" P_EPS=$NA P_MB=$NA P_REF=""
if (( HAVE_SLUICE )); then fire sluice "$FIRE_PORT"; S_EPS=$FIRE_EPS S_MB=$FIRE_MBPS S_REF=$FIRE_REF; fi
if (( HAVE_PEER )); then fire peer "$PEER_PORT"; P_EPS=$FIRE_EPS P_MB=$FIRE_MBPS P_REF=$FIRE_REF; fi
add_row "firehose n=$FIRE_N, 1 client" "events/s" "$S_EPS" "$P_EPS" "$(ratio "$S_EPS" "$P_EPS")" "$S_REF" "$P_REF"
add_row "firehose n=$FIRE_N, 1 client" "body MB/s" "$S_MB" "$P_MB" "$(ratio "$S_MB" "$P_MB")" "$S_REF" "$P_REF"

# ----------------------------------------------------------- (b) hello
log "(b) GET /hello: wrk $WRK_ARGS"
hello() {  # hello NAME PORT -> HELLO_RPS HELLO_REF
  local name=$1 port=$2 f=$OUT/wrk-$1.txt
  local cmd="wrk $WRK_ARGS http://$HOST:$port/hello"
  note "$cmd"
  ( set -f; exec $cmd ) >"$f" 2>&1
  HELLO_RPS=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$f")
  [[ -n $HELLO_RPS ]] || HELLO_RPS="n/a"
  local bad
  bad=$(grep -E 'Non-2xx|Socket errors' "$f" | tr -s ' ' | paste -sd';' -)
  [[ -n $bad ]] && { note "wrk reports: $bad"; HELLO_RPS="$HELLO_RPS ($bad)"; }
  add_cmd "$cmd"; HELLO_REF=$CMD_REF
  note "-> $HELLO_RPS requests/s"
}
S_RPS=$NA S_REF="" P_RPS=$NA P_REF=""
if ! command -v wrk >/dev/null; then
  note "wrk missing (make bench-deps): (b) skipped"
else
  if (( HAVE_SLUICE )); then hello sluice "$FIRE_PORT"; S_RPS=$HELLO_RPS S_REF=$HELLO_REF; fi
  if (( HAVE_PEER )); then hello peer "$PEER_PORT"; P_RPS=$HELLO_RPS P_REF=$HELLO_REF; fi
fi
add_row "GET /hello, wrk $WRK_ARGS" "requests/s" "$S_RPS" "$P_RPS" "$(ratio "$S_RPS" "$P_RPS")" "$S_REF" "$P_REF"

# ------------------------------------------------------ (c) + (d) stream_me
log "(c) stream_me: $STREAM_C concurrent clients, 10 events 0.5 s apart; (d) RSS"
stream() {  # stream NAME PORT PATH PID -> ST_* variables
  local name=$1 port=$2 path=$3 pid=$4 j=$OUT/stream-$1.json r=$OUT/rss-$1.txt
  local cmd="$SL_LOAD --url http://$HOST:$port$path -c $STREAM_C --expect-events 10 --interval 0.5 --timeout $STREAM_TIMEOUT --json -q"
  note "$cmd"
  sample_start "$pid" "$r"
  ( set -f; exec $cmd ) >"$j" 2>"$OUT/stream-$name.err"
  sample_stop "$pid" "$r"
  ST_OK="$(jget "$j" 'j["ok"]')/$STREAM_C"
  [[ $(jget "$j" 'j["timed_out"]') == True ]] && ST_OK="$ST_OK (cut at ${STREAM_TIMEOUT}s)"
  local n
  n=$(jget "$j" 'j["lateness_ms"]["n"]')
  ST_P50=$(jget "$j" 'j["lateness_ms"]["p50"]')
  ST_P99=$(jget "$j" 'j["lateness_ms"]["p99"]')
  ST_FIRST=$(jget "$j" 'j["first_event_ms"]["p99"]')
  ST_ELAPSED=$(jget "$j" 'j["elapsed_s"]')
  ST_NOTE=""
  [[ $n != "$STREAM_C" ]] && ST_NOTE=" (over $n clients with 10 events)"
  ST_RSS=$(rss_summary "$r" 1); ST_RSS_PEAK=$(rss_peak "$r" 1)
  ST_TREE=$(rss_summary "$r" 2); ST_TREE_PEAK=$(rss_peak "$r" 2)
  add_cmd "$cmd  [RSS: VmRSS of pid $pid, /proc/$pid/status every 0.5 s]"; ST_REF=$CMD_REF
  note "-> ok $ST_OK, lateness p50 $ST_P50 ms, p99 $ST_P99 ms$ST_NOTE, elapsed $ST_ELAPSED s, RSS $ST_RSS"
  [[ -s $OUT/stream-$name.err ]] && sed 's/^/   | /' "$OUT/stream-$name.err" | head -6 >&2
}
declare -A SS=() PS=() PA=()
fill() {  # fill ARRAYNAME
  local -n A=$1
  A[ok]=$ST_OK A[p50]="$ST_P50" A[p99]="$ST_P99" A[first]=$ST_FIRST A[el]=$ST_ELAPSED
  A[rss]=$ST_RSS A[rssp]=$ST_RSS_PEAK A[tree]=$ST_TREE A[treep]=$ST_TREE_PEAK A[ref]=$ST_REF A[note]=$ST_NOTE
}
empty() { local -n A=$1; A=([ok]=$NA [p50]=$NA [p99]=$NA [first]=$NA [el]=$NA [rss]=$NA [rssp]=$NA [tree]=$NA [treep]=$NA [ref]="" [note]=""); }
empty SS; empty PA; empty PS
if (( HAVE_SLUICE )); then stream sluice "$STREAM_PORT" /stream_me "$STREAM_PID"; fill SS; fi
if (( HAVE_PEER )); then
  stream peer-async "$PEER_PORT" /stream_me_async "$PEER_PID"; fill PA
  stream peer-sync "$PEER_PORT" /stream_me "$PEER_PID"; fill PS
fi
okn() { echo "${1%%/*}"; }
mb() { if [[ $1 =~ ^[0-9.]+$ ]]; then echo "$1 MB"; else echo "$1"; fi; }
for v in PS PA; do
  declare -n P=$v
  if [[ $v == PS ]]; then label="vs peer /stream_me (sync generator, as seed)"; else label="vs peer /stream_me_async"; fi
  W="stream_me x$STREAM_C clients, $label"
  add_row "$W" "completed ok" "${SS[ok]}" "${P[ok]}" "$(ratio "$(okn "${SS[ok]}")" "$(okn "${P[ok]}")")" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "last-event lateness p50 ms" "${SS[p50]}${SS[note]}" "${P[p50]}${P[note]}" "$(ratio "${P[p50]}" "${SS[p50]}")" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "last-event lateness p99 ms" "${SS[p99]}${SS[note]}" "${P[p99]}${P[note]}" "$(ratio "${P[p99]}" "${SS[p99]}")" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "first event p99 ms" "${SS[first]}" "${P[first]}" "$(ratio "${P[first]}" "${SS[first]}")" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "wall time s" "${SS[el]}" "${P[el]}" "$(ratio "${P[el]}" "${SS[el]}")" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "server RSS start/peak/end" "${SS[rss]}" "${P[rss]}" "$(ratio "${P[rssp]}" "${SS[rssp]}") (peak)" "${SS[ref]}" "${P[ref]}"
  add_row "$W" "RSS peak, process tree (sum)" "$(mb "${SS[treep]}")" "$(mb "${P[treep]}")" "$(ratio "${P[treep]}" "${SS[treep]}")" "${SS[ref]}" "${P[ref]}"
  unset -n P
done

# --------------------------------------------------------------- report
MD=$OUT/results.md
CSV=$OUT/results.csv
{
  echo "# sluice vs peer (FastAPI + uvicorn)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $( ((QUICK)) && echo quick || echo full) run;" \
       "sluice: $( ((HAVE_SLUICE)) && echo "$SLUICE" || echo "skipped: $SLUICE_WHY"); peer: uvicorn $("$PY" -c 'import uvicorn; print(uvicorn.__version__)' 2>/dev/null), fastapi $("$PY" -c 'import fastapi; print(fastapi.__version__)' 2>/dev/null)."
  echo
  echo "Ratio > 1 means sluice is better: sluice/peer for throughput and completions," \
       "peer/sluice for lateness, time and memory. [n] refers to the commands below."
  echo
  echo "| workload | metric | sluice | peer | ratio |"
  echo "| --- | --- | --- | --- | --- |"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r w m s p ra rs rp <<<"$r"
    echo "| $w | $m | $s${rs:+ [$rs]} | $p${rp:+ [$rp]} | $ra |"
  done
  echo
  echo "Commands:"
  echo
  i=1
  for c in "${CMDS[@]}"; do echo "- [$i] \`$c\`"; i=$((i + 1)); done
  echo
  echo "Servers:"
  echo
  (( HAVE_SLUICE )) && { echo "- sluice: \`$FIRE_CMD\` (firehose, hello)"; echo "- sluice: \`$STREAM_CMD\` (stream_me)"; }
  (( HAVE_PEER )) && echo "- peer: \`$PEER_CMD\` (all; bench/peer/app.py)"
  echo
  echo "Lateness: t(last event) - (t(request start) + 9 x 0.5 s), per client that got all 10 events."
  echo "Wall time: first request start to last body end; the peer's generators (as the seed's) sleep"
  echo "0.5 s after the 10th event too, so its floor is ~5.0 s against sluice's ~4.5 s."
  echo "Server RSS: VmRSS of the server process itself; process tree: summed over it and its descendants"
  echo "(sluice's zygote and containers; shared pages counted more than once)."
} >"$MD"
{
  echo "workload,metric,sluice,peer,ratio,sluice_command,peer_command"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r w m s p ra rs rp <<<"$r"
    cs=""; cp=""
    [[ -n $rs ]] && cs=${CMDS[rs - 1]}
    [[ -n $rp ]] && cp=${CMDS[rp - 1]}
    printf '"%s","%s","%s","%s","%s","%s","%s"\n' "$w" "$m" "$s" "$p" "$ra" "${cs//\"/\"\"}" "${cp//\"/\"\"}"
  done
} >"$CSV"

echo
cat "$MD"
echo
echo "written: $MD $CSV (raw: $OUT/*.json, $OUT/wrk-*.txt, $OUT/rss-*.txt)"
