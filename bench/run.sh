#!/usr/bin/env bash
# bench/run.sh [--quick] [--only W,W...]: every workload on sluice and on its
# peers in one run, one table (docs/bench.md says how to read it).
#
#   firehose  one client reads 1,000,000 tiny SSE events (quick: 100,000)
#   hello     a trivial GET under wrk -t2 -c64 for 10 s (quick: 2 s); then 10,000 clients
#             connecting at once, one GET each (quick: 1,000)
#   stream    the seed's example, /stream_me (10 events 0.5 s apart), with
#             1, 1,000 and 10,000 concurrent clients (quick: 1, 100, and
#             the async peer only):
#             completions, lateness p50/p99, server RSS; at 1,000 and
#             10,000 a second, warm burst on the same server (not quick)
#   h2        HTTP/2 (h2c, prior knowledge) under h2load: hello, firehose,
#             stream_me multiplexed (not quick); uvicorn has no HTTP/2
#   map       100,000 inputs mapped and streamed to curl (quick: 30,000)
#   calls     cold start, warm remote round trip, remote stream
#
# Peers: FastAPI StreamingResponse on uvicorn (bench/peer/app.py) for HTTP,
# multiprocessing.Pool for map and calls (bench/peer/pool_map.py, calls.py).
# Results: a table on stdout, bench/out/results.md and results.csv (with the
# command behind every figure) and bench/out/load_check.csv (the load
# clients' CPU time against the servers'). Raw outputs in bench/out/.
#
# Environment: PEER_PYTHON (default /usr/bin/python3, Debian's, which has
# fastapi and uvicorn), SLUICE (default build/sluice).
# Commands are kept as strings (printed with each figure) and split on purpose.
# shellcheck disable=SC2086,SC2034,SC2154,SC2013
set -uo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.." || exit 2
OUT=bench/out
mkdir -p "$OUT"

QUICK=0
ONLY=firehose,hello,stream,h2,map,calls
while (( $# )); do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=${2:?--only needs a list}; shift ;;
    -h|--help) sed -n '2,23p' "$SELF"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (usage: bench/run.sh [--quick] [--only W,W...])" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ,$ONLY, == *,$1,* ]]; }

# Quick runs fit in a minute on a 2-core VM: each stream run takes 4.5 s of
# the seed's sleeps plus a server start, so quick runs drop the seed's sync
# generator (the async twin stays) and the HTTP/2 streams, and map fewer.
if (( QUICK )); then
  FIRE_N=100000; WRK_D=2; BURST_C=1000; CLIENTS="1 100"; SYNC_MAX_S=0; STREAM_TIMEOUT=30; RAMP_CLIENTS=; RAMP_S=1; WARM_BURST=0; FRESH_REPS=1
  H2_STREAMS=""; MAP_N=30000; MAP_BIG=200000; MAP_REPS=1; COLD_N=20; WARM_N=1000
else
  FIRE_N=1000000; WRK_D=10; BURST_C=10000; CLIENTS="1 1000 10000"; SYNC_MAX_S=200; STREAM_TIMEOUT=150; RAMP_CLIENTS=10000; RAMP_S=1; WARM_BURST=1; FRESH_REPS=3
  H2_STREAMS="10x100 100x100"; MAP_N=100000; MAP_BIG=1000000; MAP_REPS=3; COLD_N=39; WARM_N=5000
fi
WRK_ARGS="-t2 -c64 -d${WRK_D}s"
H2_HELLO_ARGS="-t2 -c64 -m1 -D $WRK_D"
PY=${PEER_PYTHON:-/usr/bin/python3}
SLUICE=${SLUICE:-build/sluice}
HOST=127.0.0.1
T_START=$SECONDS
LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)

log() { printf '\n== [%3ds] %s\n' "$((SECONDS - T_START))" "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ================================================================ processes
STARTED=()   # pids we started, each the leader of its own process group
SAMPLER=""

cleanup() {
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
  local p
  for p in "${STARTED[@]}"; do stop "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LOGFILE CMD...: CMD in a process group of its own (stop() signals
# its children with it), in this script's session; sets STARTED_PID.
# Not a session of its own (setsid): the kernel's autogroup gives each
# session an equal share of the CPU, so the load client (in this session)
# would take half the machine however little the server's side had, and
# a server whose work spans processes (sluice's server and containers)
# would be held to the other half. A 10,000-client burst's p99 went from
# 20-27 ms to 47-118 ms that way (docs/bench.md); uvicorn is one thread.
start() {
  local logf=$1; shift
  "$PY" -c 'import os, sys; os.setpgid(0, 0); os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$logf" 2>&1 </dev/null &
  STARTED_PID=$!
  STARTED+=("$STARTED_PID")
}

# stop PID: TERM its process group, KILL it after 3 s.
stop() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local keep=() p
  for p in "${STARTED[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}

# reserve_for C: the serve option for C streams arriving at once, as
# docs/limits.md sizes it (15 KiB a stream while a burst arrives), when
# that is more than the default reserve of 32 MiB; else nothing.
reserve_for() {
  local mib=$(( ($1 * 15 + 1023) / 1024 ))
  (( mib > 32 )) && echo "--memory-reserve $mib"
  return 0
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_sluice APP TAG [OPTION...]: `sluice serve APP --port 0 OPTION...`,
# until it says ready; sets SL_PID, SL_PORT, SL_CMD, SL_OPTS. A server that exits
# before it is ready is started once more (and said so, in the output and
# the notes).
START_FAILURES=()
start_sluice() {
  local app=$1 logf i attempt rc
  SL_OPTS="${*:3}"
  SL_CMD="$SLUICE serve $app --port 0 --quiet${SL_OPTS:+ $SL_OPTS}"
  for attempt in 1 2; do
    logf=$OUT/server-$2-$attempt.log
    start "$logf" $SL_CMD
    SL_PID=$STARTED_PID SL_PORT=""
    for i in $(seq 600); do
      grep -q '^sluice: ready' "$logf" && break
      kill -0 "$SL_PID" 2>/dev/null || break
      sleep 0.1
    done
    SL_PORT=$(grep -o 'ready on http://127.0.0.1:[0-9]*' "$logf" | grep -o '[0-9]*$')
    [[ -n $SL_PORT ]] && return 0
    if kill -0 "$SL_PID" 2>/dev/null; then rc="not ready after 60 s"; else wait "$SL_PID"; rc="exit status $?"; fi
    note "'$SL_CMD' did not start ($rc); $logf:"; tail -5 "$logf" >&2
    START_FAILURES+=("\`$SL_CMD\` (attempt $attempt): $rc, output: $(head -c 200 "$logf" | tr '\n' ' ')")
    stop "$SL_PID"
  done
  return 1
}

# start_peer TAG: uvicorn serving bench/peer/app.py; sets PEER_PID, PEER_PORT, PEER_CMD.
start_peer() {
  local logf=$OUT/server-$1.log i code
  PEER_PORT=$(free_port)
  PEER_CMD="$PY -m uvicorn app:app --app-dir bench/peer --host $HOST --port $PEER_PORT --backlog 4096 --log-level warning --no-access-log"
  start "$logf" $PEER_CMD
  PEER_PID=$STARTED_PID
  for i in $(seq 300); do
    kill -0 "$PEER_PID" 2>/dev/null || break
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$PEER_PORT/hello" 2>/dev/null)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  note "'$PEER_CMD' did not start; $logf:"; tail -5 "$logf" >&2
  stop "$PEER_PID"; return 1
}

# The firehose app (firehose, hello) and one peer serve several workloads.
FH_PID="" MAIN_PEER_PID=""
fh_server() {
  [[ -n $FH_PID ]] && return 0
  start_sluice examples/firehose.c firehose || return 1
  FH_PID=$SL_PID FH_PORT=$SL_PORT FH_CMD=$SL_CMD
}
main_peer() {
  [[ -n $MAIN_PEER_PID ]] && return 0
  start_peer peer || return 1
  MAIN_PEER_PID=$PEER_PID MAIN_PEER_PORT=$PEER_PORT
}

# ============================================== process trees: RSS and CPU
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# tree_cpu PID: CPU seconds of PID and its descendants, with reaped children
# (utime + stime + cutime + cstime, /proc/PID/stat fields 14-17)
CLK_TCK=$(getconf CLK_TCK)
tree_cpu() {
  local stats=() p
  for p in $(tree_pids "$1"); do stats+=("/proc/$p/stat"); done
  cat "${stats[@]}" 2>/dev/null | awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 }
    END { printf "%.2f", s / hz }'
}
# The load starts once the sampler has written its first line: a Python
# starting up beside a 1,000-client burst takes CPU the burst needs (on 2
# cores, in four paired runs, it took the p99 lateness of a fresh 1,000-client
# burst from 36 to 44 ms on average).
sample_start() {   # sample_start PID FILE: server RSS every 0.5 s, the tree's RSS at 2.5 s, its RSS and PSS at the end (bench/memsample.py)
  local i
  : >"$2"
  "$PY" bench/memsample.py "$1" "$2" &
  SAMPLER=$!
  for ((i = 0; i < 100; i++)); do [[ -s $2 ]] && break; sleep 0.02; done
}
sample_stop() {    # sample_stop PID FILE: one last sample, then stop
  kill -TERM "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=""
}
rss_peak() {       # rss_peak FILE COL: peak in MB
  awk -v c="$2" 'NF >= c { n++; if ($c > m) m = $c } END { if (n) printf "%.1f", m / 1024; else printf "n/a" }' "$1"
}

# ================================================================= results
ROWS=()     # "workload|metric|sluice|peer|ratio|ref_sluice|ref_peer"
CMDS=()     # CMDS[i-1] = command [i]
CHECKS=()   # "run|client|threads|wall|client_cpu|server_cpu|read_lag_p99|steal_pct"
add_cmd() {   # add_cmd TEXT: sets CMD_REF, the number of TEXT in CMDS (added if new)
  local i
  for i in "${!CMDS[@]}"; do [[ ${CMDS[i]} == "$1" ]] && { CMD_REF=$((i + 1)); return; }; done
  CMDS+=("$1"); CMD_REF=${#CMDS[@]}
}
add_row() { ROWS+=("$1|$2|$3|$4|$5|${6:-}|${7:-}"); }

isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# ratio A B: A/B when both are plain numbers and B > 0, else "-".
# Call it as (sluice, peer) where more is better, (peer, sluice) where less is.
ratio() {
  if ! isnum "$1" || ! isnum "$2"; then printf -- -; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf (a / b < 0.1 ? "%.3fx" : "%.2fx"), a / b; else printf "-" }'
}

# jget FILE EXPR: a field of the last JSON line of FILE (python expression on j)
jget() {
  "$PY" -c 'import json,sys
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    v = eval(sys.argv[2], {"j": j})
except Exception:
    v = None
print("n/a" if v is None else (("%.1f" % v) if isinstance(v, float) else v))' "$1" "$2"
}

# cpu_ticks: "steal total" of /proc/stat's cpu line (all CPUs, in ticks).
cpu_ticks() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t; exit }' /proc/stat
}

# run_load TAG SERVER_PID THREADS CMD: runs the load client CMD (a string)
# under bench/cputime.py, stdout to $OUT/TAG.out, stderr to $OUT/TAG.err,
# and records its CPU time beside the server tree's over the same interval.
# Sets LOAD_RC, LOAD_WALL, CMD_REF.
run_load() {
  local tag=$1 spid=$2 threads=$3 cmd=$4 c0 c1 u s t0 t1 steal
  note "$cmd"
  c0=$(tree_cpu "$spid") t0=$(cpu_ticks)
  ( set -f; exec "$PY" bench/cputime.py "$OUT/$tag.time" $cmd ) >"$OUT/$tag.out" 2>"$OUT/$tag.err"
  LOAD_RC=$?
  c1=$(tree_cpu "$spid") t1=$(cpu_ticks)
  # the share of the machine the hypervisor gave to others meanwhile
  steal=$(awk -v a="$t0" -v b="$t1" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
    printf "%.1f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
  read -r LOAD_WALL u s <"$OUT/$tag.time"
  local client=${cmd#timeout [0-9]* } lag=-
  # sl-load says how long data waited in its sockets to be read
  grep -q '"read_lag_ms"' "$OUT/$tag.out" 2>/dev/null && lag=$(jget "$OUT/$tag.out" 'j["read_lag_ms"]["p99"]')
  CHECKS+=("$tag|${client%% *}|$threads|$LOAD_WALL|$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')|$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')|$lag|$steal")
  # a sluice server started with options names its own command too
  if [[ $spid == "${SL_PID:-}" && -n ${SL_OPTS:-} ]]; then
    add_cmd "$SL_CMD\` then \`$cmd"
  else
    add_cmd "$cmd"
  fi
}

# ================================================================ workloads

# ---------------------------------------------------------------- firehose
fire_one() {  # fire_one TAG PORT PID -> FIRE_EPS FIRE_REF
  local j=$OUT/$1.out
  run_load "$1" "$3" 1 "$SL_LOAD --url http://$HOST:$2/firehose?n=$FIRE_N --bytes --expect-events $FIRE_N --timeout 300 --json -q"
  FIRE_EPS=$(jget "$j" 'round(j["events_per_s"])') FIRE_REF=$CMD_REF
  (( LOAD_RC == 0 )) || FIRE_EPS="$FIRE_EPS (only $(jget "$j" 'j["events"]')/$FIRE_N events)"
  note "-> $FIRE_EPS events/s"
}
wl_firehose() {
  log "firehose: one client, $FIRE_N events"
  local s=$NOSTART sr="" p=$NOPEER pr=""
  if fh_server; then fire_one firehose-sluice "$FH_PORT" "$FH_PID"; s=$FIRE_EPS sr=$FIRE_REF; fi
  if main_peer; then fire_one firehose-peer "$MAIN_PEER_PORT" "$MAIN_PEER_PID"; p=$FIRE_EPS pr=$FIRE_REF; fi
  S_FIRE=$s
  add_row "firehose, $FIRE_N events, 1 client" "events/s" "$s" "$p" "$(ratio "$s" "$p")" "$sr" "$pr"
}

# ------------------------------------------------------------------- hello
hello_one() {  # hello_one TAG PORT PID -> HELLO_RPS HELLO_REF
  local f=$OUT/$1.out bad
  run_load "$1" "$3" 2 "wrk $WRK_ARGS http://$HOST:$2/hello"
  HELLO_RPS=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$f") HELLO_REF=$CMD_REF
  [[ -n $HELLO_RPS ]] || HELLO_RPS=n/a
  bad=$(grep -E 'Non-2xx|Socket errors' "$f" | tr -s ' ' | paste -sd';' -)
  [[ -n $bad ]] && HELLO_RPS="$HELLO_RPS ($bad)"
  note "-> $HELLO_RPS requests/s"
}
wl_hello() {
  log "trivial GET: wrk $WRK_ARGS"
  local s=$NOSTART sr="" p=$NOPEER pr=""
  if ! command -v wrk >/dev/null; then s="n/a (wrk missing: make bench-deps)" p=$s
  else
    if fh_server; then hello_one hello-sluice "$FH_PORT" "$FH_PID"; s=$HELLO_RPS sr=$HELLO_REF; fi
    if main_peer; then hello_one hello-peer "$MAIN_PEER_PORT" "$MAIN_PEER_PID"; p=$HELLO_RPS pr=$HELLO_REF; fi
  fi
  S_HELLO=$s
  add_row "GET /hello, wrk $WRK_ARGS" "requests/s" "$s" "$p" "$(ratio "$s" "$p")" "$sr" "$pr"
  wl_burst
}

# burst_one TAG PORT PATH PID: BURST_C clients connect at once, one GET
# each; sets B_P50 B_P99 (ms from connect() to the end of the response) B_REF
burst_one() {
  local j=$OUT/$1.out ok
  run_load "$1" "$4" 1 "$SL_LOAD --url http://$HOST:$2$3 -c $BURST_C --timeout 60 --json -q"
  B_REF=$CMD_REF
  B_P50=$(jget "$j" 'j["response_ms"]["p50"]') B_P99=$(jget "$j" 'j["response_ms"]["p99"]')
  ok=$(jget "$j" 'j["ok"]')
  [[ $ok != "$BURST_C" ]] && { B_P50="$B_P50 (ok $ok/$BURST_C)"; B_P99="$B_P99 (ok $ok/$BURST_C)"; }
  note "-> response p50 $B_P50 ms, p99 $B_P99 ms"
}
# The connect storm alone, without streams: how long 10,000 clients that
# connect in the same instant wait for a trivial answer. Through a
# container (/hello), and from sluice's gateway alone (/_sluice/health):
# the part of the stream rows' lateness that is accepting connections.
wl_burst() {
  log "$BURST_C clients connecting at once, one GET each"
  local w="$BURST_C clients connecting at once, one GET /hello each" s50=$NOSTART s99=$NOSTART sr="" p50=$NOPEER p99=$NOPEER pr=""
  local h99=$NOSTART hr=""
  if fh_server; then
    burst_one burst-sluice "$FH_PORT" /hello "$FH_PID"; s50=$B_P50 s99=$B_P99 sr=$B_REF
    burst_one burst-sluice-health "$FH_PORT" /_sluice/health "$FH_PID"; h99=$B_P99 hr=$B_REF
  fi
  if main_peer; then burst_one burst-peer "$MAIN_PEER_PORT" /hello "$MAIN_PEER_PID"; p50=$B_P50 p99=$B_P99 pr=$B_REF; fi
  add_row "$w" "response p50 ms" "$s50" "$p50" "$(ratio "$p50" "$s50")" "$sr" "$pr"
  add_row "$w" "response p99 ms" "$s99" "$p99" "$(ratio "$p99" "$s99")" "$sr" "$pr"
  add_row "$BURST_C clients connecting at once, GET /_sluice/health (sluice's gateway alone, no container)" \
    "response p99 ms" "$h99" "n/a (no such path)" "-" "$hr" ""
}

# ------------------------------------------------------------------ stream
# stream_one TAG PORT PATH PID C TIMEOUT [RAMP]: sl-load with C clients (their
# connects spread over RAMP seconds if given); sets
# ST_OK ST_P50 ST_P99 ST_RSS (the tree's, MB, the larger of 2.5 s in and the end) ST_PSS (the tree's, MB, at the end) ST_SRV (server process peak RSS, MB) ST_REF
stream_one() {
  local tag=$1 port=$2 path=$3 pid=$4 c=$5 to=$6 j=$OUT/$1.out r=$OUT/$1.rss n
  local ramp=${7:+ --ramp $7}
  sample_start "$pid" "$r"
  run_load "$tag" "$pid" 1 "$SL_LOAD --url http://$HOST:$port$path -c $c$ramp --expect-events 10 --interval 0.5 --timeout $to --times $OUT/$tag.times.csv --json -q"
  sample_stop "$pid" "$r"
  ST_REF=$CMD_REF
  ST_OK="$(jget "$j" 'j["ok"]')/$c"
  [[ $(jget "$j" 'j["timed_out"]') == True ]] && ST_OK="$ST_OK (cut at ${to} s)"
  n=$(jget "$j" 'j["lateness_ms"]["n"]')
  ST_P50=$(jget "$j" 'j["lateness_ms"]["p50"]') ST_P99=$(jget "$j" 'j["lateness_ms"]["p99"]')
  [[ $n != "$c" ]] && { ST_P50="$ST_P50 (of $n)"; ST_P99="$ST_P99 (of $n)"; }
  ST_RSS=$(rss_peak "$r" 2) ST_PSS=$(rss_peak "$r" 3) ST_SRV=$(rss_peak "$r" 1)
  note "-> ok $ST_OK, lateness p50 $ST_P50 ms, p99 $ST_P99 ms, RSS peak $ST_RSS MB (PSS $ST_PSS MB; server process RSS $ST_SRV MB)"
  [[ -s $OUT/$tag.err ]] && sed 's/^/   | /' "$OUT/$tag.err" | head -4 >&2
}
declare -A S_OK S_P50 S_P99   # sluice's HTTP/1.1 stream figures by client count, for h2
# stream_rows C LABEL SLUICE_FIGURES PEER_FIGURES: each figures a list of
# 6: ok, p50, p99, RSS, PSS, command ref
stream_rows() {
  local c=$1 w="stream_me, $1 concurrent client(s), $2"; shift 2
  local sfig=("${@:1:6}") pfig=("${@:7:6}")
  add_row "$w" "completed ok" "${sfig[0]}" "${pfig[0]}" "$(ratio "${sfig[0]%%/*}" "${pfig[0]%%/*}")" "${sfig[5]}" "${pfig[5]}"
  add_row "$w" "lateness p50 ms" "${sfig[1]}" "${pfig[1]}" "$(ratio "${pfig[1]}" "${sfig[1]}")" "${sfig[5]}" "${pfig[5]}"
  add_row "$w" "lateness p99 ms" "${sfig[2]}" "${pfig[2]}" "$(ratio "${pfig[2]%% (median*}" "${sfig[2]%% (median*}")" "${sfig[5]}" "${pfig[5]}"
  add_row "$w" "RSS MB, server tree, 2.5 s in" "${sfig[3]}" "${pfig[3]}" "$(ratio "${pfig[3]%% *}" "${sfig[3]%% *}")" "${sfig[5]}" "${pfig[5]}"
  add_row "$w" "PSS MB, server tree, as the load ends" "${sfig[4]}" "${pfig[4]}" "$(ratio "${pfig[4]}" "${sfig[4]}")" "${sfig[5]}" "${pfig[5]}"
}
# A fresh burst's p99 moves by +-30% from run to run on a 2-core VM at
# 1,000 clients, and by 3x at 10,000 (the issue's figures), so at both each
# side runs it FRESH_REPS times, each on a fresh server, and the row shows
# the run with the median p99, every run's p99 beside it. pick_median FIGS...: each FIGS one run's 6 figures
# joined by '|'; sets PICKED to the median run (an array).
pick_median() {
  local runs=("$@") p99s mid r i f
  IFS='|' read -r -a PICKED <<<"${runs[0]}"
  (( ${#runs[@]} > 1 )) || return 0
  p99s=$(for r in "${runs[@]}"; do IFS='|' read -r -a f <<<"$r"; printf '%s, ' "${f[2]}"; done)
  mid=$(for i in "${!runs[@]}"; do IFS='|' read -r -a f <<<"${runs[i]}"; echo "${f[2]%% *} $i"; done |
        sort -g | awk -v m=$(( ${#runs[@]} / 2 )) 'NR == m + 1 { print $2 }')
  IFS='|' read -r -a PICKED <<<"${runs[mid]}"
  PICKED[2]="${PICKED[2]} (median of ${#runs[@]} fresh runs: ${p99s%, })"
}
# fresh_bursts SIDE C REPS: SIDE sluice (/stream_me) or peer (its async
# generator); C clients on REPS fresh servers, the first of which then takes
# a second burst (WARM_BURST). Sets FRESH (the median run's 6 figures) and
# WARM (the second burst's, or n/a).
fresh_bursts() {
  local side=$1 c=$2 reps=$3 r tag port pid path runs=()
  FRESH=(n/a n/a n/a n/a n/a "") WARM=(n/a n/a n/a n/a n/a "")
  for ((r = 1; r <= reps; r++)); do
    if [[ $side == sluice ]]; then
      start_sluice examples/streaming.c "stream-$c-$r" $(reserve_for "$c") || continue
      port=$SL_PORT pid=$SL_PID path=/stream_me tag=stream-sluice
    else
      start_peer "stream-async-$c-$r" || continue
      port=$PEER_PORT pid=$PEER_PID path=/stream_me_async tag=stream-peer-async
    fi
    stream_one "$tag-c$c$( ((r > 1)) && echo "-run$r")" "$port" "$path" "$pid" "$c" "$STREAM_TIMEOUT"
    runs+=("$(fresh_figs "$side")")
    if (( r == 1 && WARM_BURST && c > 1 )); then  # a second burst: the containers are up and their stacks made
      stream_one "$tag-warm-c$c" "$port" "$path" "$pid" "$c" "$STREAM_TIMEOUT"
      IFS='|' read -r -a WARM <<<"$(fresh_figs "$side")"
    fi
    stop "$pid"
  done
  (( ${#runs[@]} )) && { pick_median "${runs[@]}"; FRESH=("${PICKED[@]}"); }
  return 0
}
fresh_figs() {  # fresh_figs SIDE: stream_one's figures, joined by '|'
  local rss=$ST_RSS
  [[ $1 == sluice ]] && rss="$ST_RSS (server process $ST_SRV)"
  echo "$ST_OK|$ST_P50|$ST_P99|$rss|$ST_PSS|$ST_REF"
}
# warm_containers_burst C: the seed's example with .min_containers = 10
# added (a copy made from examples/streaming.c into $OUT) on a fresh server,
# given time to start its containers and make their input stacks, takes a burst
# of C. Sets WC (6 figures).
warm_containers_burst() {
  local c=$1 i app=$OUT/streaming_warm.c
  WC=(n/a n/a n/a n/a n/a "")
  sed 's/^SL_WEB_ENDPOINT(stream_me, \(.*\));$/SL_WEB_ENDPOINT(stream_me, \1, .min_containers = 10);/' \
    examples/streaming.c >"$app"
  grep -q 'min_containers = 10' "$app" || { note "no SL_WEB_ENDPOINT(stream_me, ...) line in examples/streaming.c to add min_containers to"; return 0; }
  start_sluice "$app" "stream-warmct-$c" $(reserve_for "$c") || return 0
  for i in $(seq 300); do
    [[ $(curl -s "http://$HOST:$SL_PORT/_sluice/status" | "$PY" -c 'import json,sys
f = [f for f in json.load(sys.stdin)["functions"] if f["name"] == "stream_me"][0]
print(sum(ct["state"] == "ready" for ct in f["containers"]))' 2>/dev/null) == 10 ]] && break
    sleep 0.1
  done
  sleep 2  # their stacks and carriers: 100 stacks a container, a few ms of work each
  stream_one "stream-sluice-warmct-c$c" "$SL_PORT" /stream_me "$SL_PID" "$c" "$STREAM_TIMEOUT"
  IFS='|' read -r -a WC <<<"$(fresh_figs sluice)"
  stop "$SL_PID"
}
wl_stream_c() {  # wl_stream_c C
  local c=$1 s=() pa=() ps=() est sw=() paw=() reps=1
  (( c >= 1000 )) && reps=$FRESH_REPS
  log "stream_me: $c concurrent clients, 10 events 0.5 s apart$( ((reps > 1)) && echo ", $reps fresh servers each")"
  fresh_bursts sluice "$c" "$reps"; s=("${FRESH[@]}") sw=("${WARM[@]}")
  S_OK[$c]=${s[0]} S_P50[$c]=${s[1]} S_P99[$c]=${s[2]%% (median*}
  fresh_bursts peer "$c" "$reps"; pa=("${FRESH[@]}") paw=("${WARM[@]}")
  # The seed's sync generator runs in Starlette's thread pool (anyio: 40
  # threads), each of its 10 steps holding a thread 0.5 s: C clients need
  # about ceil(C/40) x 5 s.
  # shellcheck disable=SC2017
  est=$(( (c + 39) / 40 * 5 ))
  if (( est > SYNC_MAX_S )); then
    local why="n/a (not run: 40-thread pool => ~${est} s)"
    (( QUICK )) && why="n/a (not run in quick runs)"
    ps=("$why" "$why" "$why" "$why" "$why" "")
    note "peer, seed's sync generator: not run with $c clients (~${est} s > ${SYNC_MAX_S} s budget)"
  else
    ps=(n/a n/a n/a n/a n/a "")
    if start_peer "stream-sync-$c"; then
      stream_one "stream-peer-sync-c$c" "$PEER_PORT" /stream_me "$PEER_PID" "$c" $(( est * 2 + 30 ))
      ps=("$ST_OK" "$ST_P50" "$ST_P99" "$ST_RSS" "$ST_PSS" "$ST_REF")
      stop "$PEER_PID"
    fi
  fi
  stream_rows "$c" "peer: seed's sync generator" "${s[@]}" "${ps[@]}"
  stream_rows "$c" "peer: async generator" "${s[@]}" "${pa[@]}"
  (( WARM_BURST && c > 1 )) && stream_rows "$c" "second burst on the same server (containers warm), peer: async generator (its second burst too)" "${sw[@]}" "${paw[@]}"
  if (( WARM_BURST && c == 1000 )); then
    warm_containers_burst "$c"
    stream_rows "$c" "first burst, fresh server with warm containers (examples/streaming.c with .min_containers = 10), peer: async generator (fresh)" "${WC[@]}" "${pa[@]}"
  fi
  return 0
}
wl_stream() { local c; for c in $CLIENTS; do wl_stream_c "$c"; done; wl_stream_ramped; }

# The same streams arriving over RAMP_S seconds instead of all in one
# instant: 10,000 concurrent streams, without a 10,000-connect burst (whose
# cost, one accept and response each on the server's one loop, is the
# burst rows' lateness).
wl_stream_ramped() {
  local c=$RAMP_CLIENTS s=() pa=()
  [[ -z $c ]] && return 0
  log "stream_me: $c clients arriving over $RAMP_S s"
  s=(n/a n/a n/a n/a n/a "")
  if start_sluice examples/streaming.c "stream-ramp-$c" $(reserve_for "$c"); then
    stream_one "stream-sluice-ramp-c$c" "$SL_PORT" /stream_me "$SL_PID" "$c" "$STREAM_TIMEOUT" "$RAMP_S"
    s=("$ST_OK" "$ST_P50" "$ST_P99" "$ST_RSS (server process $ST_SRV)" "$ST_PSS" "$ST_REF")
    stop "$SL_PID"
  fi
  pa=(n/a n/a n/a n/a n/a "")
  if start_peer "stream-async-ramp-$c"; then
    stream_one "stream-peer-async-ramp-c$c" "$PEER_PORT" /stream_me_async "$PEER_PID" "$c" "$STREAM_TIMEOUT" "$RAMP_S"
    pa=("$ST_OK" "$ST_P50" "$ST_P99" "$ST_RSS" "$ST_PSS" "$ST_REF")
    stop "$PEER_PID"
  fi
  stream_rows "$c" "arriving over $RAMP_S s, peer: async generator" "${s[@]}" "${pa[@]}"
}

# ------------------------------------------------------------------ HTTP/2
NO_H2="n/a (uvicorn has no HTTP/2)"
h2_field() {  # h2_field FILE: "<succeeded> <req/s> <data bytes> <seconds>" from h2load's summary
  awk '/^finished in/ { t = $3; u = t; sub(/[a-z]+,?$/, "", t); if (u ~ /ms,?$/) t /= 1000; rps = $4 }
       /^requests:/ { ok = $8 }
       /^traffic:/ { for (i = 1; i <= NF; i++) if ($i == "data") { d = $(i - 1); gsub(/[()]/, "", d) } }
       END { printf "%s %s %s %s", ok + 0, rps + 0, d + 0, t + 0 }' "$1"
}
h2_hello() {
  local ok rps d t s
  run_load h2-hello-sluice "$FH_PID" 2 "h2load $H2_HELLO_ARGS http://$HOST:$FH_PORT/hello"
  read -r ok rps d t < <(h2_field "$OUT/h2-hello-sluice.out")
  s=$(printf '%.0f' "$rps")
  grep -q ' 0 failed, 0 errored, 0 timeout' "$OUT/h2-hello-sluice.out" || s="$s (errors: see $OUT/h2-hello-sluice.out)"
  note "-> $s requests/s"
  add_row "GET /hello, h2load $H2_HELLO_ARGS (sluice HTTP/1.1 above: $S_HELLO)" "requests/s" "$s" "$NO_H2" "-" "$CMD_REF" ""
}
h2_firehose() {
  local ok rps d t s bytes_want
  run_load h2-firehose-sluice "$FH_PID" 1 "h2load -c1 -n1 http://$HOST:$FH_PORT/firehose?n=$FIRE_N"
  read -r ok rps d t < <(h2_field "$OUT/h2-firehose-sluice.out")
  # the body, "data: i\n\n" for i < n, is 9 bytes each, plus one per digit past the first
  bytes_want=$(awk -v n="$FIRE_N" 'BEGIN { s = 9 * n; for (k = 10; k < n; k *= 10) s += n - k; printf "%d", s }')
  s=$(awk -v n="$FIRE_N" -v t="$t" 'BEGIN { printf "%.0f", (t > 0) ? n / t : 0 }')
  [[ $ok == 1 && $d == "$bytes_want" ]] || s="$s (body $d bytes, want $bytes_want)"
  note "-> $s events/s (body $d bytes)"
  add_row "firehose over HTTP/2, $FIRE_N events, 1 client (sluice HTTP/1.1 above: $S_FIRE)" "events/s" "$s" "$NO_H2" "-" "$CMD_REF" ""
}
pct50_99() {  # numbers, sorted, one a line -> "count p50 p99" (p: the ceil(q n)-th, as sl-load)
  awk '{ v[NR] = $1 } END { if (!NR) { print 0, "n/a", "n/a"; exit }
    a = int(0.5 * NR); if (a < 0.5 * NR) a++; b = int(0.99 * NR); if (b < 0.99 * NR) b++
    printf "%d %.1f %.1f\n", NR, v[a < 1 ? 1 : a], v[b < 1 ? 1 : b] }'
}
h2_stream() {  # h2_stream CONNSxSTREAMS: h2load -c CONNS -m STREAMS -n CONNS*STREAMS on /stream_me
  local c=${1%x*} m=${1#*x} n tag log ok p50 p99 r pss
  n=$(( c * m )) tag=h2-stream-sluice-$1 log=$OUT/h2-stream-sluice-$1.log
  rm -f "$log"   # h2load appends
  start_sluice examples/streaming.c "h2-stream-$1" $(reserve_for "$n") || return
  sample_start "$SL_PID" "$OUT/$tag.rss"
  run_load "$tag" "$SL_PID" 1 "timeout $(( STREAM_TIMEOUT + 30 )) h2load -c$c -m$m -n$n --log-file=$log http://$HOST:$SL_PORT/stream_me"
  sample_stop "$SL_PID" "$OUT/$tag.rss"
  stop "$SL_PID"
  # lateness: end of response (right after the 10th event) - (request start + 4.5 s)
  read -r ok p50 p99 < <(awk -F'\t' '$2 == 200 { print $3 / 1000 - 4500 }' "$log" 2>/dev/null | sort -g | pct50_99)
  r=$(rss_peak "$OUT/$tag.rss" 2) pss=$(rss_peak "$OUT/$tag.rss" 3)
  note "-> 200 OK $ok/$n, lateness p50 $p50 ms, p99 $p99 ms, RSS peak $r MB, PSS peak $pss MB"
  local w="stream_me over HTTP/2, $n streams on $c connections (sluice HTTP/1.1, $n clients: p50 ${S_P50[$n]:-not run}, p99 ${S_P99[$n]:-not run} ms)"
  add_row "$w" "completed 200" "$ok/$n" "$NO_H2" "-" "$CMD_REF" ""
  add_row "$w" "lateness p50 ms" "$p50" "$NO_H2" "-" "$CMD_REF" ""
  add_row "$w" "lateness p99 ms" "$p99" "$NO_H2" "-" "$CMD_REF" ""
  add_row "$w" "RSS MB, server tree, 2.5 s in" "$r" "$NO_H2" "-" "$CMD_REF" ""
  add_row "$w" "PSS MB, server tree, as the load ends" "$pss" "$NO_H2" "-" "$CMD_REF" ""
}
wl_h2() {
  log "HTTP/2 (h2c prior knowledge), h2load"
  command -v h2load >/dev/null || { note "h2load missing (make bench-deps installs nghttp2-client)"; return; }
  if fh_server; then h2_hello; h2_firehose; fi
  local x; for x in $H2_STREAMS; do h2_stream "$x"; done
}

# --------------------------------------------------------------------- map
# peaks_mb PID: "server largest_other" peak RSS (VmHWM) in MB: of PID, and
# of the largest of its descendants (a container or the zygote)
peaks_mb() {
  local p others=0 v
  for p in $(tree_pids "$1"); do
    [[ $p == "$1" ]] && continue
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
    (( ${v:-0} > others )) && others=$v
  done
  awk -v a="$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status")" -v b="$others" 'BEGIN { printf "%.1f %.1f", a / 1024, b / 1024 }'
}

# map_memory: one map of MAP_BIG inputs on the running map server. Flat
# memory: the peaks (VmHWM) after it are what they were after the 100,000-
# input maps, as the map holds a window, not its inputs or results.
map_memory() {
  local before after t lines
  before=$(peaks_mb "$SL_PID")
  run_load "map-sluice-big" "$SL_PID" 1 "curl -sf -o $OUT/map-body.txt -w %{time_total} http://$HOST:$SL_PORT/mapped?n=$MAP_BIG"
  after=$(peaks_mb "$SL_PID")
  t=$(cat "$OUT/map-sluice-big.out") lines=$(wc -l <"$OUT/map-body.txt")
  note "-> $MAP_BIG inputs: $t s, $lines lines; peak RSS MB (server, largest container) before $before, after $after"
  if [[ $lines != "$MAP_BIG" ]]; then
    MEM_ROWS=("map, $MAP_BIG inputs streamed: memory|peak RSS MB|n/a (bad output: $lines lines)|n/a|-|$CMD_REF|")
    return
  fi
  MEM_ROWS=("map, $MAP_BIG inputs streamed ($t s): server process peak RSS, after (before) it|MB|${after% *} (${before% *})|n/a (sluice only: is its memory flat)|-|$CMD_REF|"
            "map, $MAP_BIG inputs streamed ($t s): largest container's peak RSS, after (before) it|MB|${after#* } (${before#* })|n/a (sluice only: is its memory flat)|-|$CMD_REF|")
}

wl_map() {
  MEM_ROWS=()
  log "map: $MAP_N inputs streamed to curl, best of $MAP_REPS; peer multiprocessing.Pool(2).imap"
  local s=$NOSTART sr="" p=$NOPEER pr="" i t lines best="" pbest=""
  if start_sluice examples/map.c map; then
    curl -sf "http://$HOST:$SL_PORT/mapped?n=1000" >/dev/null   # containers up, as the peer's pool is
    for i in $(seq "$MAP_REPS"); do
      run_load "map-sluice-$i" "$SL_PID" 1 "curl -sf -o $OUT/map-body.txt -w %{time_total} http://$HOST:$SL_PORT/mapped?n=$MAP_N"
      t=$(cat "$OUT/map-sluice-$i.out") lines=$(wc -l <"$OUT/map-body.txt")
      if (( LOAD_RC != 0 )) || [[ $lines != "$MAP_N" ]] || [[ $(tail -1 "$OUT/map-body.txt") != "segment $(( MAP_N - 1 ))" ]]; then
        note "-> curl exit $LOAD_RC, $lines lines (want $MAP_N, ending 'segment $(( MAP_N - 1 ))')"
        best="" s="n/a (bad output: $lines lines)"; break
      fi
      note "-> $t s, $lines lines"
      best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b ? a : b) }')
    done
    [[ -n $best ]] && s=$(awk -v n="$MAP_N" -v t="$best" 'BEGIN { printf "%d", n / t }')
    sr=$CMD_REF
    map_memory
    stop "$SL_PID"
  fi
  for i in $(seq "$MAP_REPS"); do
    "$PY" bench/peer/pool_map.py "$MAP_N" >"$OUT/map-peer-$i.out" 2>"$OUT/map-peer-$i.err" || { pbest=""; break; }
    t=$(jget "$OUT/map-peer-$i.out" 'str(j["seconds"])')
    note "-> peer $t s"
    pbest=$(awk -v a="$t" -v b="${pbest:-1e9}" 'BEGIN { print (a < b ? a : b) }')
  done
  [[ -n $pbest ]] && p=$(awk -v n="$MAP_N" -v t="$pbest" 'BEGIN { printf "%d", n / t }')
  add_cmd "$PY bench/peer/pool_map.py $MAP_N"; pr=$CMD_REF
  add_row "map, $MAP_N inputs streamed (peer: multiprocessing.Pool(2).imap), best of $MAP_REPS" "items/s" "$s" "$p" "$(ratio "$s" "$p")" "$sr" "$pr"
  ROWS+=("${MEM_ROWS[@]}")
}

# ------------------------------------------------------------------- calls
# calls_rows KIND SLUICE_JSON SLUICE_REF PEER_JSON PEER_REF LABEL: the p50 and
# p99 rows of one call workload (KIND: cold or warm in the peer's JSON)
calls_rows() {
  local kind=$1 sj=$2 sr=$3 pj=$4 pr=$5 label=$6 k sv pv
  for k in p50 p99; do
    sv=n/a
    [[ -n $sj ]] && sv=$(jget "$sj" "j['${k}_us']")
    pv=$(jget "$pj" "j['$kind']['${k}_us']")
    add_row "$label" "$k us" "$sv" "$pv" "$(ratio "$pv" "$sv")" "$sr" "$pr"
  done
}

wl_calls() {
  log "calls: cold start, warm round trip, remote stream; peer multiprocessing.Pool(1)"
  local cold="" warm="" cr="" wr="" pr="" d="" rm="" dr="" rr=""
  "$FLOOR" >"$OUT/calls-floor.json" 2>&1 && FLOOR_TXT="fork+exit+wait p50 $(jget "$OUT/calls-floor.json" 'j["fork_p50_us"]') us, unix-socket round trip p50 $(jget "$OUT/calls-floor.json" 'j["rtt_p50_us"]') us ($FLOOR)"
  if start_sluice bench/apps/calls_bench.c calls; then
    local base=http://$HOST:$SL_PORT
    run_load calls-cold-sluice "$SL_PID" 1 "curl -sf $base/cold?from=0&to=$COLD_N"
    cold=$OUT/calls-cold-sluice.out cr=$CMD_REF
    curl -sf "$base/warm?n=100" >/dev/null
    run_load calls-warm-sluice "$SL_PID" 1 "curl -sf $base/warm?n=$WARM_N"
    warm=$OUT/calls-warm-sluice.out wr=$CMD_REF
    fire_one calls-direct-sluice "$SL_PORT" "$SL_PID"; d=$FIRE_EPS dr=$FIRE_REF
    run_load calls-remote-sluice "$SL_PID" 1 "$SL_LOAD --url $base/firehose_remote?n=$FIRE_N --bytes --expect-events $FIRE_N --timeout 300 --json -q"
    rm=$(jget "$OUT/calls-remote-sluice.out" 'round(j["events_per_s"])') rr=$CMD_REF
    (( LOAD_RC == 0 )) || rm="$rm (not every event arrived)"
    stop "$SL_PID"
  fi
  "$PY" bench/peer/calls.py "$COLD_N" "$WARM_N" >"$OUT/calls-peer.out" 2>"$OUT/calls-peer.err"
  add_cmd "$PY bench/peer/calls.py $COLD_N $WARM_N"; pr=$CMD_REF
  local pj=$OUT/calls-peer.out
  calls_rows cold "$cold" "$cr" "$pj" "$pr" "cold start: first call to a function with no container ($COLD_N functions; peer: new Pool(1) + first apply)"
  calls_rows warm "$warm" "$wr" "$pj" "$pr" "warm remote round trip, $WARM_N calls to a no-op in another container (peer: Pool(1).apply)"
  add_row "remote generator streamed through an endpoint (sl_respond), $FIRE_N events (same endpoint yielding itself: $d [$dr])" "events/s" "$rm" "n/a (no peer analogue)" "-" "$rr" ""
  note "-> cold $(cat "$cold" 2>/dev/null) warm $(cat "$warm" 2>/dev/null) peer $(cat "$pj")"
}

# ================================================================== setup
SL_LOAD=build/bench/sl-load FLOOR=build/bench/sl-floor
if [[ ! -x $SL_LOAD || bench/sl_load.c -nt $SL_LOAD ]]; then
  SL_LOAD=$OUT/sl-load
  if [[ ! -x $SL_LOAD || bench/sl_load.c -nt $SL_LOAD ]]; then
    log "building $SL_LOAD (no up-to-date build/bench/sl-load)"
    cc -std=c17 -O2 -Wall -Wextra -D_GNU_SOURCE bench/sl_load.c -o "$SL_LOAD" -lm || exit 2
  fi
fi
[[ -x $FLOOR ]] || { FLOOR=$OUT/sl-floor; cc -std=c17 -O2 bench/floor.c -o "$FLOOR" || exit 2; }
[[ -x $SLUICE ]] || { echo "run.sh: $SLUICE is missing (make build)" >&2; exit 2; }
"$PY" -c 'import fastapi, uvicorn' 2>/dev/null || { echo "run.sh: $PY lacks fastapi/uvicorn (make bench-deps, or set PEER_PYTHON)" >&2; exit 2; }
FLOOR_TXT="not measured"
NOSTART="n/a (sluice did not start: see notes)" NOPEER="n/a (peer did not start: see $OUT/server-*.log)"
S_FIRE="not run" S_HELLO="not run"

# ================================================================== run
for w in firehose hello stream h2 map calls; do want "$w" && "wl_$w"; done
if [[ -n $FH_PID ]]; then stop "$FH_PID"; fi
if [[ -n $MAIN_PEER_PID ]]; then stop "$MAIN_PEER_PID"; fi
ELAPSED=$((SECONDS - T_START))

# ================================================================ report
MD=$OUT/results.md CSV=$OUT/results.csv CHK=$OUT/load_check.csv
check_verdict() {  # threads wall client_cpu server_cpu
  awk -v t="$1" -v w="$2" -v c="$3" -v s="$4" 'BEGIN {
    u = (w > 0) ? c / (w * t) : 0; r = (c > 0) ? s / c : s / 0.01
    if (u < 0.7 && c <= s) printf "ok: client %.0f%% busy; server used %.1fx its CPU time", 100 * u, r
    else if (u < 0.7) printf "ok: client %.0f%% busy (not saturated)", 100 * u
    else printf "CHECK: client %.0f%% busy", 100 * u }'
}
{
  echo "# sluice vs its peers"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $LOADAVG0, $( ((QUICK)) && echo quick || echo full) run ($ONLY) in ${ELAPSED} s;" \
       "sluice $(git rev-parse --short HEAD 2>/dev/null); uvicorn $("$PY" -c 'import uvicorn; print(uvicorn.__version__)'), fastapi $("$PY" -c 'import fastapi; print(fastapi.__version__)'), Python $("$PY" -c 'import platform; print(platform.python_version())')."
  echo
  echo "**ratio > 1 means sluice is better**: sluice/peer for throughput and completions," \
       "peer/sluice for lateness, latency and memory. [n] is the command behind a figure (below)."
  echo
  echo "| workload | metric | sluice | peer | ratio (>1: sluice better) |"
  echo "| --- | --- | --- | --- | --- |"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r w m s p ra rs rp <<<"$r"
    echo "| $w | $m | $s${rs:+ [$rs]} | $p${rp:+ [$rp]} | $ra |"
  done
  echo
  echo "## Is the load client the bottleneck?"
  echo
  echo "CPU seconds of each load client (user+sys from wait4, bench/cputime.py) against those of the server's"
  echo "process tree (/proc/PID/stat utime+stime+cutime+cstime before and after: 0.01 s ticks) over the same"
  echo "run. \"busy\" is the client's CPU time over wall time x its threads: a client near 100% would be"
  echo "the bottleneck; well under it, with the server using more CPU, it is not. \"read lag\" (sl-load"
  echo "only): p99 of how long received data waited in a socket before sl-load read it, from the kernel's"
  echo "receive stamps. sl-load times events by those stamps, so this delay of its own is not in its figures."
  echo "\"steal\": the share of the machine's CPU time the hypervisor gave to other guests during the run"
  echo "(/proc/stat); a run with a few percent of it or more was slowed by the host, not by sluice or its peer."
  echo
  echo "| run | client (threads) | wall s | client CPU s | server CPU s | read lag p99 ms | steal % | verdict |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for r in "${CHECKS[@]}"; do
    IFS='|' read -r tag cl th wa cc sc lag st <<<"$r"
    echo "| $tag | $cl ($th) | $wa | $cc | $sc | $lag | $st | $(check_verdict "$th" "$wa" "$cc" "$sc") |"
  done
  echo
  echo "## Commands"
  echo
  i=1
  for c in "${CMDS[@]}"; do echo "- [$i] \`$c\`"; i=$((i + 1)); done
  echo
  echo "Servers: sluice \`$SLUICE serve APP --port 0 --quiet\` with APP = examples/firehose.c (firehose, hello, HTTP/2 hello"
  echo "and firehose), examples/streaming.c (stream_me, a fresh server per client count), examples/map.c,"
  echo "bench/apps/calls_bench.c; peer \`$PY -m uvicorn app:app --app-dir bench/peer --backlog 4096 ...\`"
  echo "(bench/peer/app.py; a backlog of 4096 as sluice's listen(), uvicorn's default being 2048)."
  echo "Each server runs in a process group of its own, in this script's session, as the load clients do"
  echo "(not setsid: the kernel's autogroup would give it half the machine at most; docs/bench.md)."
  echo
  echo "## Notes"
  echo
  echo "- Lateness: t(last event) - (t(request start) + 9 x 0.5 s), per client that got all 10 events;"
  echo "  sl-load takes t(last event) from the kernel's receive stamp of the data (read lag, above, is apart)."
  echo "  Over HTTP/2 (h2load --log-file): end of response - (stream start + 4.5 s)."
  echo "- RSS, server tree: VmRSS summed over the server's process tree (sluice: server, zygote,"
  echo "  containers; a shared page counts once per process that maps it), read 2.5 s into a stream run"
  echo "  (every stream open) and at its end, the larger kept; \"server process\" is the server alone, its"
  echo "  peak over 0.5 s samples. PSS (/proc/PID/smaps_rollup) splits each shared page between its"
  echo "  processes, so its sum is the tree's real footprint; for one process (uvicorn) PSS <= RSS."
  echo "  PSS is read as the load ends (containers and their threads still up), not mid-run: reading it"
  echo "  walks 100 containers' page tables, and mid-run that made the streams late (docs/bench.md)."
  (( FRESH_REPS > 1 )) && echo "- 1,000 and 10,000 clients at once: each side ran $FRESH_REPS times, each on a fresh server; the row is the run with the median p99."
  echo "- Cold start and warm round trip are timed inside the caller (a sluice endpoint; the Python script)."
  echo "  Floors on this machine: $FLOOR_TXT."
  echo "- The machine may be shared: figures vary run to run (+-20% is common on a 2-core VM)."
  for f in "${START_FAILURES[@]}"; do echo "- A sluice server did not start: $f"; done
} >"$MD"
{
  echo "workload,metric,sluice,peer,ratio,sluice_command,peer_command"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r w m s p ra rs rp <<<"$r"
    cs=""; cp=""
    [[ -n $rs ]] && cs=${CMDS[rs - 1]}
    [[ -n $rp ]] && cp=${CMDS[rp - 1]}
    printf '"%s","%s","%s","%s","%s","%s","%s"\n' "${w//\"/\"\"}" "$m" "$s" "$p" "$ra" "${cs//\"/\"\"}" "${cp//\"/\"\"}"
  done
} >"$CSV"
{
  echo "run,client,threads,wall_s,client_cpu_s,server_cpu_s,read_lag_p99_ms,steal_pct,verdict"
  for r in "${CHECKS[@]}"; do
    IFS='|' read -r tag cl th wa cc sc lag st <<<"$r"
    echo "$tag,$cl,$th,$wa,$cc,$sc,$lag,$st,\"$(check_verdict "$th" "$wa" "$cc" "$sc")\""
  done
} >"$CHK"

echo
cat "$MD"
echo
echo "written: $MD $CSV $CHK (raw outputs: $OUT/*.out, *.err, *.rss, *.log)"
