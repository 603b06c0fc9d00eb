#!/usr/bin/env bash
# DNS benchmarks (tests/bench/README.md):
#  1. `evtool dns serve` vs dnsmasq vs NSD under dnsperf: queries/s and the
#     server's CPU time per query (utime+stime from /proc, before and after,
#     divided by the queries completed). Server pinned to one CPU, dnsperf
#     (one thread) to the other; DNS_SECONDS [8] each, DNS_REPS [3] runs,
#     medians.
#  2. `evtool dns resolve -f` on DNS_NAMES [10000] names against a local
#     dnsmasq vs `adnshost` on the same list: wall time, median of DNS_REPS.
# Loopback only; every server is killed on exit.
set -uo pipefail
# For nsd_conf only: the helpers below are this script's own.
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
BUILD=$(cd "${1:-build}" && pwd)
EVTOOL=$BUILD/evtool
SECONDS_EACH=${DNS_SECONDS:-8}
REPS=${DNS_REPS:-3}
NAMES=${DNS_NAMES:-10000}
SERVER_CPU=${DNS_SERVER_CPU:-0}
CLIENT_CPU=${DNS_CLIENT_CPU:-1}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in dnsperf dnsmasq nsd knotd adnshost; do
  command -v "$tool" >/dev/null || { echo "run_dns_bench: $tool not installed (apt-get install dnsperf dnsmasq-base nsd knot adns-tools)"; exit 0; }
done

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
# For servers started with `spawn ... &`: exec, so that $! is the server
# itself, in a process group of its own (NSD forks; kill them all).
spawn() { if command -v taskset >/dev/null; then exec setsid taskset -c "$SERVER_CPU" "$@"; else exec setsid "$@"; fi; }
# A process and all its descendants (NSD serves from a grandchild).
tree() { local c; echo "$1"; for c in $(pgrep -P "$1"); do tree "$c"; done; }
# utime + stime of a server's whole process tree.
cpu_ticks() {
  local total=0 p
  for p in $(tree "$1"); do
    # Fields after "pid (comm) " (comm may hold spaces: "nsd: server 1").
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  echo "$total"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
wait_udp() {  # until the server answers on 127.0.0.1:$1
  for _ in $(seq 100); do dig +time=1 +tries=1 +short @127.0.0.1 -p "$1" www.bench.test A >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# The data: 1000 names with an A record each; queries for all of them.
zone=$work/bench.test.zone
{
  echo '$ORIGIN bench.test.'
  echo '$TTL 300'
  echo '@ IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )'
  echo '  IN NS ns1'
  echo 'ns1 IN A 127.0.0.1'
  echo 'www IN A 192.0.2.1'
  for i in $(seq 1000); do echo "h$i IN A 192.0.2.$((i % 250 + 1))"; done
} >"$zone"
queries=$work/queries
for i in $(seq 1000); do echo "h$i.bench.test A"; done >"$queries"
hosts=$work/hosts
{ echo '192.0.2.1 www.bench.test'; for i in $(seq 1000); do echo "192.0.2.$((i % 250 + 1)) h$i.bench.test"; done; } >"$hosts"

start_server() {  # name port -> sets server_pid
  local name=$1 port=$2
  case $name in
    evtool) spawn "$EVTOOL" -q dns serve --bind 127.0.0.1 --port "$port" --zone "$zone" >/dev/null 2>&1 & ;;
    dnsmasq) spawn dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
               --pid-file= --listen-address=127.0.0.1 --bind-interfaces --port="$port" --addn-hosts="$hosts" \
               --cache-size=10000 --log-facility=/dev/null >/dev/null 2>&1 & ;;
    nsd)
      nsd_conf "$work/nsd" "$port" bench.test "$zone"
      spawn nsd -d -c "$work/nsd/nsd.conf" >/dev/null 2>&1 & ;;
    knot)
      rm -rf "$work/knot"
      mkdir -p "$work/knot"
      knot_conf "$work/knot" "$port" bench.test "$zone"
      spawn knotd -c "$work/knot/knot.conf" >/dev/null 2>&1 & ;;
    floor) spawn "$BUILD/tests/bench/dns_floor" --port "$port" >/dev/null 2>&1 & ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
}

run_dnsperf() {  # name -> "qps cpu_us_per_query lost"
  local name=$1 port; port=$(free_port)
  start_server "$name" "$port"
  if ! wait_udp "$port"; then echo "nan nan nan"; kill $(tree "$server_pid") 2>/dev/null; return; fi
  sleep 0.3
  local before; before=$(cpu_ticks "$server_pid")
  local out; out=$(pin "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l "$SECONDS_EACH" -T 1 -c 1 -q 500 2>&1)
  local after; after=$(cpu_ticks "$server_pid")
  kill $(tree "$server_pid") 2>/dev/null; wait "$server_pid" 2>/dev/null
  local completed qps lost hz
  completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  hz=$(getconf CLK_TCK)
  awk -v q="$qps" -v c="$completed" -v t=$((after - before)) -v hz="$hz" -v l="$lost" \
    'BEGIN { printf "%s %.2f %s\n", q, (c > 0 ? t * 1e6 / hz / c : 0), l }'
}

echo "## dns serve under dnsperf (${SECONDS_EACH}s, 1 thread, $REPS runs, medians)"
echo
echo "| server | queries/s | CPU µs/query | lost |"
echo "|---|---:|---:|---:|"
declare -A QPS CPU
SERVERS=(evtool dnsmasq nsd knot)
[ -x "$BUILD/tests/bench/dns_floor" ] && SERVERS+=(floor)
for name in "${SERVERS[@]}"; do
  qs=(); cs=(); ls=()
  for _ in $(seq "$REPS"); do
    read -r q c l < <(run_dnsperf "$name")
    qs+=("$q"); cs+=("$c"); ls+=("$l")
  done
  QPS[$name]=$(printf '%s\n' "${qs[@]}" | median)
  CPU[$name]=$(printf '%s\n' "${cs[@]}" | median)
  echo "| $name | ${QPS[$name]} | ${CPU[$name]} | $(printf '%s\n' "${ls[@]}" | median) |"
done
# The goal: CPU per query at most 0.8 x the better (lower) of NSD and Knot.
awk -v a="${CPU[evtool]}" -v n="${CPU[nsd]}" -v k="${CPU[knot]}" -v f="${CPU[floor]:-nan}" '
  BEGIN {
    best = n; who = "NSD"
    if (k + 0 > 0 && (best + 0 <= 0 || k + 0 < best + 0)) { best = k; who = "Knot" }
    if (best + 0 > 0) printf "\nCPU/query: evtool / %s (the better peer) %.2f (goal <= 0.80)", who, a / best
    if (f + 0 > 0) printf "; evtool / floor %.2f", a / f
    print ""
  }'
echo "floor: dns_floor.cpp, recvmmsg / sendmmsg in batches of 64 answering every query in place, no lookup."

# ---- resolver: evtool dns resolve -f vs adnshost ---------------------------
# adns talks to port 53 only: dnsmasq listens on 127.0.0.2:53 for both.
echo
echo "## dns resolve -f: $NAMES names against a local dnsmasq ($REPS runs, median seconds)"
echo
names=$work/names
for i in $(seq "$NAMES"); do echo "n$i.bench.test"; done >"$names"
rhosts=$work/rhosts
for i in $(seq "$NAMES"); do echo "10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256)) n$i.bench.test"; done >"$rhosts"
dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
  --listen-address=127.0.0.2 --bind-interfaces --port=53 --addn-hosts="$rhosts" --cache-size=20000 \
  --log-facility=/dev/null >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
if ! dig +time=1 +tries=1 +short @127.0.0.2 n1.bench.test >/dev/null 2>&1; then
  echo "(skipped: cannot run dnsmasq on 127.0.0.2:53)"
  exit 0
fi
time_it() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e - s}'; }
ev=(); ad=()
for _ in $(seq "$REPS"); do
  ev+=("$(time_it "$EVTOOL" -q dns resolve -t A --no-hosts --server 127.0.0.2 --max-inflight 64 -f "$names")")
  ad+=("$(time_it adnshost --config 'nameserver 127.0.0.2' -t a --asynch -f <"$names")")
done
e=$(printf '%s\n' "${ev[@]}" | median)
a=$(printf '%s\n' "${ad[@]}" | median)
echo "| resolver | seconds |"
echo "|---|---:|"
echo "| evtool dns resolve -f | $e |"
echo "| adnshost | $a |"
awk -v e="$e" -v a="$a" 'BEGIN { if (a > 0) printf "\nratio evtool / adnshost: %.2f (goal <= 1.00)\n", e / a }'
# The upstream's own capacity for these names: the resolver is not the
# bottleneck when it gets at least 0.8 of it.
awk '{ print $1, "A" }' "$names" >"$work/names.dnsperf"
up=$(pin "$CLIENT_CPU" dnsperf -s 127.0.0.2 -p 53 -d "$work/names.dnsperf" -l "$SECONDS_EACH" -T 1 -c 1 -q 64 2>&1 |
       awk '/Queries per second:/ {print $4}')
awk -v e="$e" -v n="$NAMES" -v u="$up" 'BEGIN {
  if (e > 0 && u > 0) printf "evtool resolves %.0f names/s; dnsmasq answers %.0f queries/s under dnsperf (64 in flight): %.2f of it (goal >= 0.80; and <= 0.15 s for the %d names)\n", n / e, u, n / e / u, n }'
