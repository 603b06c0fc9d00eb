#!/usr/bin/env bash
# The churn soak (README.md, "soak"; `make soak`): each server takes
# SOAK_CONNS short connections and, where it has them, keep-alive HTTP
# requests or UDP queries from churn_load, every reply checked; afterwards
# its descriptors must be back to their baseline and its resident memory
# within a small slack of it. Prints a Markdown table; exits 1 if any
# server fails (a failed connection or request, a descriptor not given
# back, memory not returned, the server gone).
#
#   run_soak.sh BUILD_DIR
#
# Per server: start it on 127.0.0.1, port 0, and await its "listening on"
# line; warm up with SOAK_WARMUP connections (and a few of the other
# requests); once its descriptors are back to what it held idle, record
# the baseline (VmRSS, descriptors); run the short connections in
# SOAK_ROUNDS rounds (VmRSS after each, to tell growth from a plateau),
# then the keep-alive requests or UDP queries; wait up to SOAK_SETTLE
# seconds for the descriptors to come back; record VmRSS and descriptors.
#
# Environment (defaults in brackets):
#   SOAK_SERVERS        which servers [echo chat http https dns]
#   SOAK_CONNS          short connections a server [200000]
#   SOAK_TLS_CONNS      short connections for https (full handshakes) [10000]
#   SOAK_PARALLEL       connections open at once [64]
#   SOAK_KA_CONNS       keep-alive HTTP connections [100] ...
#   SOAK_KA_REQUESTS    ... of this many requests each [100]
#   SOAK_UDP_QUERIES    UDP queries for dns [100000]
#   SOAK_WARMUP         warm-up connections [1000]
#   SOAK_ROUNDS         rounds the short connections are split into [2]
#   SOAK_SETTLE         seconds descriptors may take to come back [5]
#   SOAK_RSS_SLACK_KIB  VmRSS allowed above the baseline, KiB ... [2048]
#   SOAK_RSS_SLACK_PCT  ... or this percentage of it, whichever is more [10]
#   SOAK_SECONDS        bound on each client run [240]
#   EVTOOL              the binary [BUILD_DIR/evtool]
# Raw results (one JSON line per client run) go to
# BUILD_DIR/tests/bench/soak_results.jsonl.
set -u

BUILD=$(cd "${1:-}" 2>/dev/null && pwd) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BIN="$BUILD/tests/bench"
EVTOOL=${EVTOOL:-$BUILD/evtool}
SERVERS=${SOAK_SERVERS:-echo chat http https dns}
CONNS=${SOAK_CONNS:-200000}
TLS_CONNS=${SOAK_TLS_CONNS:-10000}
PARALLEL=${SOAK_PARALLEL:-64}
KA_CONNS=${SOAK_KA_CONNS:-100}
KA_REQUESTS=${SOAK_KA_REQUESTS:-100}
UDP_QUERIES=${SOAK_UDP_QUERIES:-100000}
WARMUP=${SOAK_WARMUP:-1000}
ROUNDS=${SOAK_ROUNDS:-2}
SETTLE=${SOAK_SETTLE:-5}
SLACK_KIB=${SOAK_RSS_SLACK_KIB:-2048}
SLACK_PCT=${SOAK_RSS_SLACK_PCT:-10}
CLIENT_SECONDS=${SOAK_SECONDS:-240}
SERVER_CPU=""  # not pinned: a check, not a measurement
CLIENT_CPU=""

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
DRAIN_PID=""
# shellcheck disable=SC2317  # run by the EXIT trap
soak_cleanup() {
  cleanup
  stop_pid "$DRAIN_PID"
}
trap soak_cleanup EXIT
read -r -a BOUND <<<"$(bound $((CLIENT_SECONDS + 30)))"
open_results soak_results.jsonl

for tool in "$EVTOOL" "$BIN/churn_load"; do
  [ -x "$tool" ] || { echo "run_soak: $tool not built (make soak builds it)" >&2; exit 2; }
done

# A closed connection leaves TIME_WAIT on the side that closed first: for
# churn_load's graceful half that is the client, which loopback may reuse
# with net.ipv4.tcp_tw_reuse; without it, spread the connections over
# 16 loopback source addresses so the ephemeral ports last.
SOURCES=()
if [ "$(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo 0)" = 0 ]; then
  SOURCES=(--sources 16)
  NOTES+=("net.ipv4.tcp_tw_reuse is 0: connections spread over 127.0.0.1-16")
fi

# The served files: one small enough for http serve's memory cache, one
# sent from the file each time (an open descriptor per request).
WWW=$TMP/www
mkdir -p "$WWW"
head -c 1024 /dev/urandom >"$WWW/1k.bin"
head -c 20480 /dev/urandom >"$WWW/20k.bin"
GETS=(--get "/1k.bin=$WWW/1k.bin" --get "/20k.bin=$WWW/20k.bin")
CERT=$TMP/cert.pem
KEY=$TMP/key.pem
if [[ " $SERVERS " == *" https "* ]] &&
   ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
       -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 -keyout "$KEY" -out "$CERT" >"$TMP/openssl.err" 2>&1; then
  NOTES+=("https skipped: openssl could not make a certificate: $(head -c 200 "$TMP/openssl.err" | tr '\n' ' ')")
  SERVERS=${SERVERS//https/}
fi
RECORD='a.soak.test 60 IN A 192.0.2.1'

# start_server LINES CMD...: starts CMD with its stdout on a FIFO and reads
# it until LINES "listening on" lines have come (10 s at most), then lets
# `cat` drain the rest into $TMP/server.out. Sets SERVER_PID, SERVER_PORT;
# 1 if the server did not listen.
start_server() {
  local want=$1 got=0 line fifo=$TMP/server.fifo fd
  shift
  SERVER_PORT=""
  rm -f "$fifo"
  mkfifo "$fifo" || return 1
  "$@" >"$fifo" 2>"$TMP/server.err" &
  SERVER_PID=$!
  exec {fd}<"$fifo"
  while [ $got -lt "$want" ] && IFS= read -r -t 10 -u "$fd" line; do
    [[ $line == "listening on "* ]] || continue
    got=$((got + 1))
    SERVER_PORT=${line##*:}
  done
  cat <&"$fd" >"$TMP/server.out" &
  DRAIN_PID=$!
  exec {fd}<&-
  [ $got -eq "$want" ]
}

stop_soaked() {
  stop_server
  wait "$DRAIN_PID" 2>/dev/null
  DRAIN_PID=""
}

# settle FDS: waits up to SETTLE s for the server to hold FDS descriptors
# (closing sockets go after the client's last close is processed); prints
# what it holds then.
settle() {
  local n
  for _ in $(seq $((SETTLE * 10))); do
    n=$(fd_count "$SERVER_PID")
    [ "$n" -le "$1" ] && break
    sleep 0.1
  done
  fd_count "$SERVER_PID"
}

# churn LABEL ARGS...: one churn_load run against the server; its JSON line
# goes to the results, the totals below and $TMP/load.json; 1 if it failed.
churn() {
  local label=$1 out rc failed
  shift
  out=$("${BOUND[@]}" "$BIN/churn_load" --port "$SERVER_PORT" --parallel "$PARALLEL" --seconds "$CLIENT_SECONDS" \
          "${SOURCES[@]}" "$@" 2>"$TMP/client.err")
  rc=$?
  printf '{"server":"%s","run":"%s",%s\n' "$NAME" "$label" "${out#\{}" >>"$RESULTS"
  printf '%s\n' "$out" >"$TMP/load.json"
  if [ $rc -ne 0 ] || [ -z "$out" ]; then
    local why
    why=$(head -c 400 "$TMP/client.err" | tr '\n' ';')
    NOTES+=("$NAME, $label: churn_load exit $rc: ${why:-no output}")
    failed=$(json_field "$out" failures)
    [ "${failed:-0}" -gt 0 ] || failed=1
    FAILURES=$((FAILURES + failed))
    return 1
  fi
}

# A figure of the last churn run (0 if it printed none).
run_field() {
  local v
  v=$(json_field "$(cat "$TMP/load.json")" "$1")
  echo "${v:-0}"
}

# What each server runs: its command, "listening on" lines, and the
# churn_load arguments of its short connections, and of its other
# requests ("" for none).
configure() {
  OTHER=()
  SHORT_CONNS=$CONNS
  case $1 in
    echo)
      CMD=("$EVTOOL" -q tcp echo 0 --bind 127.0.0.1); LINES=1
      SHORT=(--mode echo --size 64) ;;
    chat)
      CMD=("$EVTOOL" -q tcp serve 0 --bind 127.0.0.1); LINES=1
      SHORT=(--mode chat) ;;
    http)
      CMD=("$EVTOOL" -q http serve "$WWW" --port 0 --bind 127.0.0.1); LINES=1
      SHORT=(--mode http "${GETS[@]}")
      OTHER=(--mode http "${GETS[@]}" --conns "$KA_CONNS" --requests "$KA_REQUESTS") ;;
    https)
      CMD=("$EVTOOL" -q http serve "$WWW" --port 0 --bind 127.0.0.1 --tls --cert "$CERT" --key "$KEY"); LINES=1
      SHORT=(--mode http --tls --cafile "$CERT" "${GETS[@]}")
      OTHER=(--mode http --tls --cafile "$CERT" "${GETS[@]}" --conns "$KA_CONNS" --requests "$KA_REQUESTS")
      SHORT_CONNS=$TLS_CONNS ;;
    dns)
      CMD=("$EVTOOL" -q dns serve --bind 127.0.0.1 --port 0 --record "$RECORD"); LINES=2
      SHORT=(--mode dns)
      OTHER=(--mode dns-udp --conns "$UDP_QUERIES") ;;
    *) return 1 ;;
  esac
}

mib() {  # KiB -> MiB with one decimal, or "—"
  num "$1" || { echo "—"; return; }
  awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# soak NAME: one server through the steps at the top; appends its row.
soak() {
  NAME=$1
  FAILURES=0
  local ok=1 why=() fds_idle fds_before fds_after rss_before rss_after rss_rounds=() conns=0 requests=0
  local wall=0 short_ok=0 per_round round n slack rate
  if ! configure "$NAME"; then
    NOTES+=("unknown server $NAME")
    return 1
  fi
  echo "soak: $NAME ..." >&2
  if ! start_server "$LINES" "${CMD[@]}"; then
    NOTES+=("$NAME did not start: $(server_err)")
    ROWS+=("| $NAME | — | — | — | — | — | — | — | FAIL |")
    stop_soaked
    return 1
  fi
  fds_idle=$(fd_count "$SERVER_PID")
  churn warmup "${SHORT[@]}" --conns "$WARMUP" || ok=0
  if [ ${#OTHER[@]} -gt 0 ]; then
    # A few of the other requests too, so that their first-use memory is in the baseline.
    churn warmup-other "${OTHER[@]}" --conns 10 || ok=0
  fi
  fds_before=$(settle "$fds_idle")
  rss_before=$(rss_kib "$SERVER_PID")
  if [ -z "$rss_before" ]; then
    NOTES+=("$NAME died during the warm-up: $(server_err)")
    ROWS+=("| $NAME | — | — | — | — | — | — | — | FAIL |")
    stop_soaked
    return 1
  fi
  # Not a failure by itself (a server may open something on first use),
  # but worth a look.
  [ "$fds_before" -eq "$fds_idle" ] || NOTES+=("$NAME: $fds_idle descriptors idle, $fds_before after the warm-up")
  per_round=$(( (SHORT_CONNS + ROUNDS - 1) / ROUNDS ))
  for round in $(seq "$ROUNDS"); do
    n=$(( SHORT_CONNS - (round - 1) * per_round ))
    [ $n -gt $per_round ] && n=$per_round
    [ $n -gt 0 ] || break
    churn "round $round" "${SHORT[@]}" --conns "$n" || ok=0
    wall=$(awk -v a="$wall" -v b="$(run_field elapsed_s)" 'BEGIN { print a + b }')
    short_ok=$((short_ok + $(run_field ok)))
    conns=$((conns + $(run_field ok) + $(run_field failures)))
    requests=$((requests + $(run_field requests_ok)))
    settle "$fds_before" >/dev/null
    rss_rounds+=("$(mib "$(rss_kib "$SERVER_PID")")")
  done
  if [ ${#OTHER[@]} -gt 0 ]; then
    churn other "${OTHER[@]}" || ok=0
    [ "${OTHER[1]}" = dns-udp ] || conns=$((conns + $(run_field conns)))
    requests=$((requests + $(run_field requests_ok)))
  fi
  fds_after=$(settle "$fds_before")
  rss_after=$(rss_kib "$SERVER_PID")
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" 2>/dev/null
    why+=("the server died (exit status $?): $(server_err)")
    fds_after="—"
    rss_after=""
  fi
  stop_soaked
  [ "$FAILURES" -eq 0 ] || why+=("$FAILURES failed connections or requests")
  [ "$fds_after" = "$fds_before" ] || why+=("descriptors $fds_before before, $fds_after after")
  slack=$(( rss_before * SLACK_PCT / 100 ))
  [ $slack -ge "$SLACK_KIB" ] || slack=$SLACK_KIB
  if [ -z "$rss_after" ] || [ "$rss_after" -gt $((rss_before + slack)) ]; then
    why+=("VmRSS $(mib "$rss_before") MiB before, $(mib "$rss_after") MiB after (slack $(mib "$slack") MiB)")
  fi
  [ ${#why[@]} -eq 0 ] || ok=0
  NOTES+=("$NAME: VmRSS after each round of short connections: ${rss_rounds[*]} MiB")
  for w in "${why[@]}"; do NOTES+=("$NAME: $w"); done
  local result=pass
  [ $ok = 1 ] || result=FAIL
  rate=$(awk -v n=$short_ok -v s="$wall" 'BEGIN { if (s > 0) print n / s; else print 0 }')
  ROWS+=("| $NAME | $(thousands $conns) | $(thousands $requests) | $(thousands "$FAILURES") | $fds_before → $fds_after | $(mib "$rss_before") → $(mib "$rss_after") | $(fixed "$wall" 1) | $(thousands "$rate") | $result |")
  [ $ok = 1 ]
}

ROWS=()
FAILED=0
START=$(date +%s)
for s in $SERVERS; do
  soak "$s" || FAILED=1
done

echo
echo "### soak: short connections and keep-alive requests against each server"
echo
echo "$CONNS short connections a server ($TLS_CONNS for https), $PARALLEL at once, after a warm-up of $WARMUP;" \
  "http: $KA_CONNS keep-alive connections × $KA_REQUESTS requests; dns: $UDP_QUERIES UDP queries too." \
  "RSS may end at most max($(mib "$SLACK_KIB") MiB, $SLACK_PCT%) above its baseline. $(nproc) CPUs, $(uname -sr);" \
  "load average ${LOAD_START:-?} at the start, $(loadavg) at the end; $(( $(date +%s) - START )) s in all."
echo
echo "| server | connections | requests | failures | fds before → after | RSS before → after (MiB) | wall time (s) | connections/s | result |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|:---:|"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "Connections: TCP connections made (the short ones, and http's keep-alive ones). Requests: replies checked"
echo "(echoes; chat lines the observer received, one from each even connection; HTTP responses, keep-alive ones"
echo "included; DNS answers over TCP and UDP). Wall time and connections/s: the short connections alone."
echo "Before: after the warm-up, once the server holds what it held idle; after: once its descriptors are back."
print_notes
exit $FAILED
