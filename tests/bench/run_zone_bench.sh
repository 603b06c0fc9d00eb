#!/usr/bin/env bash
# The zone benchmark (README.md): one large zone file, ZONE_NAMES
# [1000000] names with an A record each (plus SOA, NS and the NS's
# address), served by `evtool dns serve --zone`, NSD and Knot DNS:
#  - load time: from starting the server until it answers a name of the
#    zone (a probe every 10 ms);
#  - queries/s under dnsperf (one thread, ZONE_SECONDS [8]), half names of
#    the zone and half NXDOMAIN names, ZONE_QUERIES [200000] distinct
#    questions (more than evtool's answer cache holds);
#  - memory after the load: PSS summed over the server's processes (NSD
#    forks its server from the loaded parent; RSS would count their shared
#    pages twice).
# Each run starts a fresh server pinned to ZONE_SERVER_CPU [0], dnsperf on
# ZONE_CLIENT_CPU [1]; servers take turns; medians of DNS_REPS [3] runs.
# Raw results go to BUILD_DIR/tests/bench/zone_results.jsonl. Loopback
# only; every server is stopped on exit.
#
#   run_zone_bench.sh BUILD_DIR
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
BIN="$BUILD/tests/bench"
EVTOOL=$BUILD/evtool
NAMES=${ZONE_NAMES:-1000000}
QUERIES=${ZONE_QUERIES:-200000}
SECS=${ZONE_SECONDS:-${DNS_SECONDS:-8}}
REPS=${DNS_REPS:-3}
SERVER_CPU=${ZONE_SERVER_CPU-0}
CLIENT_CPU=${ZONE_CLIENT_CPU-1}
LOAD_DEADLINE=300  # seconds a server gets to load the zone

for tool in dnsperf nsd knotd python3; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "run_zone_bench: $tool not installed (apt-get install dnsperf nsd knot python3)"
    exit 0
  fi
done
PATH=$PATH:/usr/sbin

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
STOP_WAIT=5
open_results zone_results.jsonl

# ---- the data ---------------------------------------------------------------
ZONE=$TMP/bench.test.zone
awk -v n="$NAMES" 'BEGIN {
  print "$ORIGIN bench.test."; print "$TTL 300"
  print "@ IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )"; print "  IN NS ns1"; print "ns1 IN A 127.0.0.1"
  for (i = 1; i <= n; i++) printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
}' >"$ZONE"
QUERY_FILE=$TMP/queries
awk -v n="$NAMES" -v q="$QUERIES" 'BEGIN {
  srand(1)
  for (i = 1; i <= q; i++) if (i % 2) printf "h%d.bench.test A\n", int(rand() * n) + 1; else printf "nx%d.bench.test A\n", i
}' >"$QUERY_FILE"

# probe.py wait PORT DEADLINE: prints "ready", reads the time the server
# starts (epoch seconds) from stdin, then prints the seconds from then
# until the server answers h1 with an address, or "fail" (so that its own
# start-up is not counted). probe.py ask PORT NAME: "RCODE ANSWERS" of one
# query.
cat >"$TMP/probe.py" <<'PY'
import socket, struct, sys, time
def query(name):
    q = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)
def outcome(r):
    return {0: "NOERROR", 3: "NXDOMAIN"}.get(r[3] & 15, "RCODE%d" % (r[3] & 15)), struct.unpack("!H", r[6:8])[0]
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
if mode == "wait":
    print("ready", flush=True)
    start, deadline = float(sys.stdin.readline()), float(sys.argv[3])
    s.settimeout(0.01)
    while time.time() - start < deadline:
        try:
            s.send(query("h1.bench.test"))
            rcode, answers = outcome(s.recv(65536))
            if rcode == "NOERROR" and answers > 0:
                print("%.3f" % (time.time() - start), flush=True)
                sys.exit(0)
        except OSError:  # nothing bound yet (refused), or no answer within 10 ms
            time.sleep(0.01)
    print("fail", flush=True)
else:
    s.settimeout(2)
    s.send(query(sys.argv[3]))
    print("%s %d" % outcome(s.recv(65536)))
PY

# ---- servers ----------------------------------------------------------------
launch() {  # launch NAME PORT: the server in the background, its pid in SERVER_PID
  local name=$1 port=$2 dir=$TMP/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  case $name in
    evtool)
      "${SPIN[@]}" "$EVTOOL" -q dns serve --bind 127.0.0.1 --port "$port" --zone "$ZONE" \
        >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    nsd)
      nsd_conf "$dir" "$port" bench.test "$ZONE"
      "${SPIN[@]}" nsd -d -c "$dir/nsd.conf" >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    knot)
      knot_conf "$dir" "$port" bench.test "$ZONE"
      "${SPIN[@]}" knotd -c "$dir/knot.conf" >"$TMP/server.out" 2>"$TMP/server.err" & ;;
  esac
  SERVER_PID=$!
}
# PSS of a process tree, in MiB.
pss_mib() {
  local total=0 p kb
  for p in $(tree "$1"); do
    kb=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
    total=$((total + ${kb:-0}))
  done
  awk -v k="$total" 'BEGIN { printf "%.1f", k / 1024 }'
}

# one_run NAME: a fresh server; RUN_LOAD (s), RUN_QPS, RUN_PSS (MiB), each
# "fail" when it could not be measured.
one_run() {
  local name=$1 port ready out lost hit miss
  RUN_LOAD=fail RUN_QPS=fail RUN_PSS=fail
  port=$(free_port)
  coproc PROBE { python3 "$TMP/probe.py" wait "$port" "$LOAD_DEADLINE"; }
  read -r ready <&"${PROBE[0]}"
  echo "$EPOCHREALTIME" >&"${PROBE[1]}"
  launch "$name" "$port"
  read -r RUN_LOAD <&"${PROBE[0]}"
  wait "$PROBE_PID" 2>/dev/null
  [ "$ready" = ready ] && [ -n "$RUN_LOAD" ] || RUN_LOAD=fail
  if [ "$RUN_LOAD" = fail ]; then
    NOTES+=("$name did not answer within $LOAD_DEADLINE s: $(server_err)")
    stop_server
    return
  fi
  sleep 0.5  # whatever it does after its first answer (NSD forks, Knot's timers)
  RUN_PSS=$(pss_mib "$SERVER_PID")
  hit=$(python3 "$TMP/probe.py" ask "$port" "h$NAMES.bench.test")
  miss=$(python3 "$TMP/probe.py" ask "$port" "nx1.bench.test")
  if [ "$hit" != "NOERROR 1" ] || [ "$miss" != "NXDOMAIN 0" ]; then
    NOTES+=("$name answered h$NAMES with '$hit' and nx1 with '$miss'")
    stop_server
    return
  fi
  out=$("${CPIN[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERY_FILE" -l "$SECS" -T 1 -c 1 -q 500 2>&1)
  stop_server
  RUN_QPS=$(awk '/Queries per second:/ { print $4 }' <<<"$out")
  lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
  printf '{"server":"%s","names":%s,"load_s":%s,"qps":%s,"lost":%s,"pss_mib":%s}\n' \
    "$name" "$NAMES" "$RUN_LOAD" "${RUN_QPS:-null}" "${lost:-null}" "$RUN_PSS" >>"$RESULTS"
  RUN_QPS=${RUN_QPS:-fail}
}

SERVERS=(evtool nsd knot)
declare -A LOADS QPSS PSSS
for _ in $(seq "$REPS"); do
  for name in "${SERVERS[@]}"; do
    one_run "$name"
    LOADS[$name]+="$RUN_LOAD "
    QPSS[$name]+="$RUN_QPS "
    PSSS[$name]+="$RUN_PSS "
  done
done

declare -A LOAD QPS PSS
for name in "${SERVERS[@]}"; do
  # shellcheck disable=SC2086  # the lists are space-separated on purpose
  LOAD[$name]=$(median ${LOADS[$name]})
  # shellcheck disable=SC2086
  QPS[$name]=$(median ${QPSS[$name]})
  # shellcheck disable=SC2086
  PSS[$name]=$(median ${PSSS[$name]})
done

echo "## zone: $(thousands "$NAMES") names loaded by dns serve, NSD and Knot ($REPS runs, medians)"
echo
echo "servers ${SPIN[*]:-not pinned}, dnsperf ${CPIN[*]:-not pinned}; $(nproc) CPUs; NSD $(nsd -v 2>&1 | head -n 1 | awk '{ print $NF }'), Knot $(knotd --version 2>&1 | awk '{ print $NF }'); dnsperf ${SECS}s, 1 thread, half NXDOMAIN"
echo
echo "| server | load (s) | queries/s | memory after load (MiB, PSS) |"
echo "|---|---:|---:|---:|"
declare -A LABEL=([evtool]="evtool dns serve" [nsd]="NSD" [knot]="Knot DNS")
for name in "${SERVERS[@]}"; do
  echo "| ${LABEL[$name]} | $(fixed "${LOAD[$name]}" 2) | $(thousands "${QPS[$name]}") | $(fixed "${PSS[$name]}" 0) |"
done
echo
echo "| evtool / peer | load | queries/s | memory |"
echo "|---|---:|---:|---:|"
for peer in nsd knot; do
  echo "| ${LABEL[$peer]} | $(ratio "${LOAD[evtool]}" "${LOAD[$peer]}") | $(ratio "${QPS[evtool]}" "${QPS[$peer]}") |" \
       "$(ratio "${PSS[evtool]}" "${PSS[$peer]}") |"
done
print_notes
