#!/usr/bin/env bash
# The forward benchmark (README.md): `evtool tcp forward` against socat
# (TCP-LISTEN,fork) and a libevent relay in le-proxy's shape
# (forward_libevent), each in front of the same `evtool tcp echo`, driven by
# the same load client (echo_load), in the same run; prints a Markdown
# table with medians and ratios.
#
#   run_forward_bench.sh BUILD_DIR
#
# One echo server runs for the whole benchmark; each run starts a fresh
# relay pinned to one CPU (the echo server and the client share the
# other), relays alternating within each repetition. Cases: pingpong of
# 64-byte messages with 1 and 64 connections (messages/s) and bulk 64 KiB
# blocks on 1 connection (MiB/s), all through the relay.
#
# Environment (defaults in brackets):
#   FORWARD_SECONDS     seconds per run [5]
#   FORWARD_REPS        runs per cell; the median is reported [3]
#   FORWARD_RELAY_CPU   CPU for the relay, "" for none [0]
#   FORWARD_CLIENT_CPU  CPU for the echo server and the client, "" for none [1]
#   FORWARD_CASES       which rows to run [pingpong-1 pingpong-64 bulk-1]
# Raw results (one JSON line per run) go to
# BUILD_DIR/tests/bench/forward_results.jsonl.
set -u

BUILD=${1:-}
[ -n "$BUILD" ] && [ -d "$BUILD" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BIN="$BUILD/tests/bench"
SERVER_CPU=${FORWARD_RELAY_CPU-0}   # bench_lib's SPIN pins the relay
CLIENT_CPU=${FORWARD_CLIENT_CPU-1}  # and CPIN the echo server and echo_load
SECS=${FORWARD_SECONDS:-5} REPS=${FORWARD_REPS:-3}
SOCAT=$(command -v socat || true)

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
STOP_WAIT=2
read -r -a BOUND <<<"$(bound $((${SECS%.*} + 60)))"
ECHO_PID=""
trap 'stop_pid "$ECHO_PID"; cleanup' EXIT

RELAYS=(evtool libevent socat)
CASES=(
  "pingpong-1|--mode pingpong --conns 1 --size 64|messages_per_s|pingpong 64 B, 1 conn (messages/s)"
  "pingpong-64|--mode pingpong --conns 64 --size 64|messages_per_s|pingpong 64 B, 64 conns (messages/s)"
  "bulk-1|--mode bulk --conns 1 --block 65536|mib_per_s|bulk 64 KiB blocks, 1 conn (MiB/s)"
)
pick_cases "${FORWARD_CASES:-}"

# The one echo server every relay forwards to.
"${CPIN[@]}" "$BUILD/evtool" -q tcp echo 0 --bind 127.0.0.1 >"$TMP/echo.out" 2>"$TMP/echo.err" &
ECHO_PID=$!
ECHO_PORT=""
for _ in $(seq 100); do
  ECHO_PORT=$(sed -n 's/^listening on [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$TMP/echo.out" | head -n 1)
  [ -n "$ECHO_PORT" ] && break
  sleep 0.1
done
if [ -z "$ECHO_PORT" ]; then
  echo "the echo server did not start: $(head -c 300 "$TMP/echo.err")" >&2
  exit 1
fi

# accepting PORT: something accepts TCP connections on 127.0.0.1:PORT.
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_relay NAME: sets SERVER_PID and SERVER_PORT; 1 if it is not
# accepting within 10 s (or not installed: 2).
start_relay() {
  SERVER_PORT=""
  : >"$TMP/server.out"
  case $1 in
    evtool) "${SPIN[@]}" "$BUILD/evtool" tcp forward 0 "127.0.0.1:$ECHO_PORT" --bind 127.0.0.1 \
              >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    libevent) [ -x "$BIN/forward_libevent" ] || return 2
              "${SPIN[@]}" "$BIN/forward_libevent" --port 0 --target "127.0.0.1:$ECHO_PORT" \
                >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    socat) [ -n "$SOCAT" ] || return 2
           SERVER_PORT=$(free_port)
           "${SPIN[@]}" "$SOCAT" "TCP-LISTEN:$SERVER_PORT,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$ECHO_PORT" \
             >"$TMP/server.out" 2>"$TMP/server.err" & ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 100); do
    [ -z "$SERVER_PORT" ] && SERVER_PORT=$(listening_port)
    [ -n "$SERVER_PORT" ] && accepting "$SERVER_PORT" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# run_timed ARGS: one run through the relay at SERVER_PORT; its JSON with
# the relay's CPU time (its whole process tree: socat forks) added.
run_timed() { timed_load relay_cpu_s "$1"; }

open_results forward_results.jsonl
declare -A VALUES

for c in "${CASES[@]}"; do
  IFS='|' read -r case args field _ <<<"$c"
  for rep in $(seq "$REPS"); do
    order=("${RELAYS[@]}")
    [ $((rep % 2)) -eq 0 ] && order=(socat libevent evtool)  # alternate who goes first
    for relay in "${order[@]}"; do
      echo "forward: $case, $relay, run $rep/$REPS ..." >&2
      start_relay "$relay"
      started=$?
      if [ $started -eq 2 ]; then
        VALUES[$case,$relay]="${VALUES[$case,$relay]:-} —"
        continue
      elif [ $started -ne 0 ]; then
        NOTES+=("$relay did not start: $(server_err)")
        stop_server
        VALUES[$case,$relay]="${VALUES[$case,$relay]:-} fail"
        continue
      fi
      out=$(run_timed "$args")
      rc=$?
      stop_server
      if [ $rc -eq 0 ] && [ -n "$out" ]; then
        printf '{"relay":"%s","case":"%s","rep":%s,%s\n' "$relay" "$case" "$rep" "${out#\{}" >>"$RESULTS"
        VALUES[$case,$relay]="${VALUES[$case,$relay]:-} $(json_field "$out" "$field")"
      else
        NOTES+=("$case, $relay, run $rep: exit $rc: $(head -c 300 "$TMP/client.err" | tr '\n' ' ')")
        VALUES[$case,$relay]="${VALUES[$case,$relay]:-} fail"
      fi
    done
  done
done

show() {  # show VALUE FIELD
  if [ "$2" = messages_per_s ]; then thousands "$1"; else fixed "$1" 1; fi
}

echo
echo "### forward: evtool tcp forward vs a libevent relay (le-proxy) vs socat, in front of one evtool tcp echo (median of $REPS)"
echo
echo "${SECS} s per run; relay ${SPIN[*]:-not pinned}, echo server and client ${CPIN[*]:-not pinned}; $(nproc) CPUs, $(uname -sr);" \
  "socat $("${SOCAT:-false}" -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p');" \
  "load average ${LOAD_START:-?} at the start, $(loadavg) at the end (other work on the machine skews throughput)"
echo
echo "| case | evtool | libevent relay | socat | evtool / libevent | goal | met | evtool / socat | goal | met |"
echo "|---|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|"
for c in "${CASES[@]}"; do
  IFS='|' read -r case _ field label <<<"$c"
  # shellcheck disable=SC2086
  ours=$(median ${VALUES[$case,evtool]:-—})
  # shellcheck disable=SC2086
  lev=$(median ${VALUES[$case,libevent]:-—})
  # shellcheck disable=SC2086
  soc=$(median ${VALUES[$case,socat]:-—})
  r1=$(ratio "$ours" "$lev")
  r2=$(ratio "$ours" "$soc")
  echo "| $label | $(show "$ours" "$field") | $(show "$lev" "$field") | $(show "$soc" "$field") |" \
    "$r1 | ≥ 1.50 | $(met "$r1" ">=" 1.50) | $r2 | ≥ 3.00 | $(met "$r2" ">=" 3.00) |"
done
print_notes
