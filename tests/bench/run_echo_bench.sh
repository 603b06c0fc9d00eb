#!/usr/bin/env bash
# The echo benchmark (README.md): `evtool tcp echo` against libevent's
# bufferevent echo server (echo_libevent), both driven by the same load
# client (echo_load, plain epoll), and prints a Markdown table.
#
#   run_echo_bench.sh BUILD_DIR
#
# Each run starts a fresh server pinned to one CPU and the client pinned to
# the other; servers alternate within each repetition. Cases: pingpong of
# 64-byte messages with 1 and 64 connections (messages/s), bulk 64 KiB
# blocks with 1 and 64 connections (MiB/s), and the server's VmRSS holding
# N idle connections, both never used and after one 64-byte echo each.
#
# Environment (defaults in brackets):
#   ECHO_SECONDS     seconds per pingpong / bulk run [5]
#   ECHO_REPS        runs per cell; the median is reported [3]
#   ECHO_IDLE_CONNS  connections for the idle rows [10000]
#   ECHO_SERVER_CPU  CPU for the server, "" for none [0]
#   ECHO_CLIENT_CPU  CPU for the load client, "" for none [1]
#   ECHO_CASES       which rows to run [pingpong-1 pingpong-64 bulk-1 bulk-64
#                    idle idle-ping]
# Raw results (one JSON line per run) go to
# BUILD_DIR/tests/bench/echo_results.jsonl.
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD="$1"
BIN="$BUILD/tests/bench"
SECS=${ECHO_SECONDS:-5}
REPS=${ECHO_REPS:-3}
IDLE_CONNS=${ECHO_IDLE_CONNS:-10000}
SERVER_CPU=${ECHO_SERVER_CPU-0}
CLIENT_CPU=${ECHO_CLIENT_CPU-1}
IDLE_READY_TIMEOUT=90  # seconds for all idle connections to be up and accepted

# Each process may hold as many descriptors as the hard limit allows
# (bench_init).
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
STOP_WAIT=2  # seconds a server or the client gets to stop before KILL
read -r -a BOUND <<<"$(bound $((${SECS%.*} + 60)))"

# "name|server command"; the port is read from its "listening on" line.
SERVERS=(
  "evtool|$BUILD/evtool tcp echo 0 --bind 127.0.0.1"
  "libevent|$BIN/echo_libevent --port 0"
  "floor|$BIN/echo_floor --port 0"
)
# "case|echo_load arguments|JSON field reported|label".
CASES=(
  "pingpong-1|--mode pingpong --conns 1 --size 64|messages_per_s|pingpong 64 B, 1 conn (messages/s)"
  "pingpong-64|--mode pingpong --conns 64 --size 64|messages_per_s|pingpong 64 B, 64 conns (messages/s)"
  "bulk-1|--mode bulk --conns 1 --block 65536|mib_per_s|bulk 64 KiB blocks, 1 conn (MiB/s)"
  "bulk-64|--mode bulk --conns 64 --block 65536|mib_per_s|bulk 64 KiB blocks, 64 conns (MiB/s)"
  "idle|--mode idle --conns $IDLE_CONNS|rss_kib|$IDLE_CONNS idle conns, never used: server VmRSS (MiB)"
  "idle-ping|--mode idle --conns $IDLE_CONNS --ping --size 64|rss_kib|$IDLE_CONNS idle conns, after one 64 B echo: server VmRSS (MiB)"
)
pick_cases "${ECHO_CASES:-}"

# start_server CMD: sets SERVER_PID and SERVER_PORT; 1 if it did not listen in 10 s.
start_server() {

  SERVER_PORT=""
  # Emptied here, not by the redirection below: that runs in the child,
  # maybe after the first look, which would then find the last server's port.
  : >"$TMP/server.out"
  # shellcheck disable=SC2086  # the command's words are meant to split
  "${SPIN[@]}" $1 >"$TMP/server.out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    SERVER_PORT=$(listening_port)
    [ -n "$SERVER_PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# run_timed ARGS: one pingpong / bulk run against SERVER_PORT; prints its
# JSON with the server's CPU time during the run added.
run_timed() { timed_load server_cpu_s "$1"; }

# run_idle ARGS: opens the idle connections, waits until the server holds
# them all, then prints the server's VmRSS as JSON.
run_idle() {
  local before fds rss anon
  before=$(rss_kib "$SERVER_PID")
  # shellcheck disable=SC2086
  "${CPIN[@]}" "$BIN/echo_load" $1 --hold $((IDLE_READY_TIMEOUT + 30)) --host 127.0.0.1 --port "$SERVER_PORT" \
    >"$TMP/client.out" 2>"$TMP/client.err" &
  CLIENT_PID=$!
  for _ in $(seq $((IDLE_READY_TIMEOUT * 10))); do
    grep -q '"ready":true' "$TMP/client.out" && break
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '"ready":true' "$TMP/client.out"; then
    kill -0 "$CLIENT_PID" 2>/dev/null && echo "not ready after ${IDLE_READY_TIMEOUT} s" >>"$TMP/client.err"
    stop_pid "$CLIENT_PID"; CLIENT_PID=""
    return 1
  fi
  # Ready means connected; wait until the server has accepted every one.
  for _ in $(seq 300); do
    fds=$(fd_count "$SERVER_PID")
    [ "$fds" -ge "$IDLE_CONNS" ] && break
    sleep 0.1
  done
  sleep 1
  rss=$(rss_kib "$SERVER_PID")
  anon=$(anon_kib "$SERVER_PID")
  stop_pid "$CLIENT_PID"; CLIENT_PID=""
  if [ -z "$rss" ]; then
    echo "no VmRSS for server $SERVER_PID" >>"$TMP/client.err"
    return 1
  fi
  printf '{"mode":"idle","conns":%s,"server_fds":%s,"rss_before_kib":%s,"rss_kib":%s,"rss_anon_kib":%s,"per_conn_bytes":%s}\n' \
    "$IDLE_CONNS" "$fds" "${before:-0}" "$rss" "${anon:-0}" "$(( (rss - ${before:-0}) * 1024 / IDLE_CONNS ))"
}

LOAD_START=$(loadavg)
RESULTS="$BIN/echo_results.jsonl"
: >"$RESULTS"
declare -A VALUES BEFORE ANON COST BUSY

for c in "${CASES[@]}"; do
  IFS='|' read -r case args field _ <<<"$c"
  for rep in $(seq "$REPS"); do
    order=(0 1 2)
    [ $((rep % 2)) -eq 0 ] && order=(2 1 0)  # alternate who goes first
    # The floor has nothing to measure when idle but the kernel's share.
    [ "${case%%-*}" = idle ] && order=(0 1)
    for s in "${order[@]}"; do
      IFS='|' read -r server cmd <<<"${SERVERS[$s]}"
      read -r prog _ <<<"$cmd"
      if [ ! -x "$prog" ]; then
        VALUES[$case,$server]="${VALUES[$case,$server]:-} —"
        continue
      fi
      echo "echo: $case, $server, run $rep/$REPS ..." >&2
      if ! start_server "$cmd"; then
        NOTES+=("$server did not start: $(server_err)")
        stop_server
        VALUES[$case,$server]="${VALUES[$case,$server]:-} fail"
        continue
      fi
      if [ "${case%%-*}" = idle ]; then out=$(run_idle "$args"); else out=$(run_timed "$args"); fi
      rc=$?
      alive=1
      kill -0 "$SERVER_PID" 2>/dev/null || alive=0
      stop_server
      if [ $rc -eq 0 ] && [ -n "$out" ] && [ $alive = 1 ]; then
        printf '{"server":"%s","case":"%s","rep":%s,%s\n' "$server" "$case" "$rep" "${out#\{}" >>"$RESULTS"
        VALUES[$case,$server]="${VALUES[$case,$server]:-} $(json_field "$out" "$field")"
        cpu=$(json_field "$out" server_cpu_s)
        if [ -n "$cpu" ]; then
          # Server CPU per unit of work: µs per message, or ms per GiB echoed.
          if [ "$field" = messages_per_s ]; then units=$(json_field "$out" messages); scale=1000000
          else units=$(awk -v b="$(json_field "$out" bytes)" 'BEGIN { print b / 1073741824 }'); scale=1000; fi
          COST[$case,$server]="${COST[$case,$server]:-} $(awk -v c="$cpu" -v u="$units" -v k="$scale" 'BEGIN { if (u > 0) printf "%.2f", c * k / u }')"
          BUSY[$case,$server]="${BUSY[$case,$server]:-} $(awk -v c="$cpu" -v e="$(json_field "$out" elapsed_s)" 'BEGIN { if (e > 0) printf "%.0f", 100 * c / e }')"
        fi
        if [ "${case%%-*}" = idle ]; then
          VALUES[$case/conn,$server]="${VALUES[$case/conn,$server]:-} $(json_field "$out" per_conn_bytes)"
          BEFORE[$case,$server]="${BEFORE[$case,$server]:-} $(json_field "$out" rss_before_kib)"
          ANON[$case,$server]="${ANON[$case,$server]:-} $(json_field "$out" rss_anon_kib)"
          fds=$(json_field "$out" server_fds)
          [ "$fds" -lt "$IDLE_CONNS" ] && NOTES+=("$case, $server, run $rep: the server held only $fds descriptors")
        fi
      else
        why="exit $rc"
        [ $alive = 0 ] && why="the server died ($(head -c 200 "$TMP/server.err" | tr '\n' ' '))"
        NOTES+=("$case, $server, run $rep: $why: $(head -c 300 "$TMP/client.err" | tr '\n' ' ')")
        VALUES[$case,$server]="${VALUES[$case,$server]:-} fail"
        VALUES[$case/conn,$server]="${VALUES[$case/conn,$server]:-} fail"
      fi
    done
  done
done

# show VALUE FIELD: messages/s as an integer with thousands separators,
# MiB/s with one decimal, KiB of RSS as MiB with one decimal.
show() {
  num "$1" || { echo "$1"; return; }
  case $2 in
    messages_per_s) thousands "$1" ;;
    mib_per_s) fixed "$1" 1 ;;
    rss_kib) awk -v x="$1" 'BEGIN { printf "%.1f", x / 1024 }' ;;
    per_conn_bytes) fixed "$1" 0 ;;
  esac
}

echo
echo "### echo: evtool tcp echo vs libevent bufferevent echo (median of $REPS)"
echo
echo "${SECS} s per run; server ${SPIN[*]:-not pinned}, client ${CPIN[*]:-not pinned}; $(nproc) CPUs, $(uname -sr);" \
  "load average ${LOAD_START:-?} at the start, $(loadavg) at the end (other work on the machine skews throughput)"
echo
echo "| case | evtool | libevent | floor | evtool / libevent | goal | met | evtool / floor | goal | met |"
echo "|---|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|"
row() {  # row KEY FIELD LABEL
  local key=$1 field=$2 label=$3 ours peer floor r rf goal="≥ 1.20" op=">=" limit=1.20 fgoal
  # shellcheck disable=SC2086
  ours=$(median ${VALUES[$key,evtool]:-—})
  # shellcheck disable=SC2086
  peer=$(median ${VALUES[$key,libevent]:-—})
  # shellcheck disable=SC2086
  floor=$(median ${VALUES[$key,floor]:-—})
  [ "$field" = messages_per_s ] || [ "$field" = mib_per_s ] || { goal="≤ 1.00"; op="<="; limit=1.00; }
  r=$(ratio "$ours" "$peer")
  rf=$(ratio "$ours" "$floor")
  # The issue's goals against the floor: 0.95 for one ping-pong
  # connection, 0.9 for the rest.
  fgoal=0.90
  [ "$key" = pingpong-1 ] && fgoal=0.95
  if num "$floor"; then
    echo "| $label | $(show "$ours" "$field") | $(show "$peer" "$field") | $(show "$floor" "$field") | $r | $goal | $(met "$r" "$op" "$limit") | $rf | ≥ $fgoal | $(met "$rf" ">=" "$fgoal") |"
  else
    echo "| $label | $(show "$ours" "$field") | $(show "$peer" "$field") | — | $r | $goal | $(met "$r" "$op" "$limit") | — | | |"
  fi
}
for c in "${CASES[@]}"; do
  IFS='|' read -r case _ field label <<<"$c"
  row "$case" "$field" "$label"
  if [ "$field" = rss_kib ]; then
    row "$case/conn" per_conn_bytes "${label%%:*}: server VmRSS growth per conn (bytes)"
  fi
done
timed=0
for c in "${CASES[@]}"; do [[ $c == *"|rss_kib|"* ]] || timed=1; done
if [ $timed = 1 ]; then
  echo
  echo "Server CPU (user + system, from /proc) per unit of work, and how busy the server's CPU was; less"
  echo "sensitive than throughput to other load on the machine. Medians."
  echo
  echo "| case | evtool | libevent | floor | evtool / libevent | evtool / floor | evtool busy | libevent busy | floor busy |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
fi
for c in "${CASES[@]}"; do
  IFS='|' read -r case _ field label <<<"$c"
  [ "$field" = rss_kib ] && continue
  if [ "$field" = messages_per_s ]; then unit="µs/message"; else unit="ms/GiB"; fi
  # shellcheck disable=SC2086
  ours=$(median ${COST[$case,evtool]:-—})
  # shellcheck disable=SC2086
  peer=$(median ${COST[$case,libevent]:-—})
  # shellcheck disable=SC2086
  floor=$(median ${COST[$case,floor]:-—})
  # shellcheck disable=SC2086
  echo "| ${label%% (*} ($unit) | $ours | $peer | $floor | $(ratio "$ours" "$peer") | $(ratio "$ours" "$floor") | $(median ${BUSY[$case,evtool]:-—})% | $(median ${BUSY[$case,libevent]:-—})% | $(median ${BUSY[$case,floor]:-—})% |"
done
for s in evtool libevent; do
  # shellcheck disable=SC2086
  b=$(median ${BEFORE[idle,$s]:-—})
  num "$b" && NOTES+=("$s VmRSS before any connection (median): $(show "$b" rss_kib) MiB (mostly shared library pages)")
done
for c in "${CASES[@]}"; do
  IFS='|' read -r case _ field label <<<"$c"
  [ "$field" = rss_kib ] || continue
  # shellcheck disable=SC2086
  a=$(median ${ANON[$case,evtool]:-—}) b=$(median ${ANON[$case,libevent]:-—})
  num "$a" && num "$b" &&
    NOTES+=("${label%%:*}: RssAnon (private memory, no library pages): evtool $(show "$a" rss_kib) MiB, libevent $(show "$b" rss_kib) MiB")
done
print_notes
