#!/usr/bin/env bash
# The HTTP benchmark (README.md), on loopback only:
#  1. Static files under wrk (one thread, 64 keep-alive connections):
#     `evtool http serve` vs http_evhttp (libevent 2.1's evhttp) vs nginx vs h2o (one thread each)
#     (one worker, access_log off, sendfile on). Files of 1 KiB and 1 MiB;
#     requests/s and MiB/s (wrk's Transfer/sec), medians. Each run starts a
#     fresh server pinned to CPU 0 with wrk pinned to CPU 1; the servers take
#     turns going first.
#  2. One 1 GiB file (sparse) from nginx: `evtool http get -o /dev/null` vs
#     `curl -s -o /dev/null`, alternately; wall time and max RSS
#     (/usr/bin/time %M), medians.
# A client or server that is not there (an evtool without `http serve` /
# `http get`, no nginx) gets "not available" rows; the rest still runs.
#
#   run_http_bench.sh [BUILD_DIR]     (default: build)
#
# Environment (defaults in brackets):
#   EVTOOL              the evtool binary [BUILD_DIR/evtool]
#   NGINX               the nginx binary [/usr/sbin/nginx]
#   H2O                 the h2o binary [h2o on PATH]
#   HTTP_BENCH_SECONDS  wrk duration per run, whole seconds [8]
#   HTTP_BENCH_RUNS     runs per cell (wrk and downloads); medians [3]
#   HTTP_BENCH_CONNS    wrk connections [64]
#   HTTP_BENCH_FILES    which files to serve under wrk ["1k.bin 1m.bin"]
#   HTTP_IDLE_CONNS     idle connections for the memory table [10000; 0 skips it]
#   HTTP_GET_SIZE       size of the download test's file, for truncate(1);
#                       0 skips that test [1G]
#   HTTP_SERVER_CPU     CPU for the servers, "" for none [0]
#   HTTP_CLIENT_CPU     CPU for wrk / the download clients, "" for none [1]
# Raw results (one JSON line per run) go to
# BUILD_DIR/tests/bench/http_results.jsonl.
set -u

BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
BIN="$BUILD/tests/bench"
EVTOOL=${EVTOOL:-$BUILD/evtool}
H2O=${H2O:-$(command -v h2o || echo /usr/bin/h2o)}
NGINX=${NGINX:-/usr/sbin/nginx}
SECS=${HTTP_BENCH_SECONDS:-8}
RUNS=${HTTP_BENCH_RUNS:-3}
CONNS=${HTTP_BENCH_CONNS:-64}
FILES=${HTTP_BENCH_FILES:-"1k.bin 1m.bin"}
GET_SIZE=${HTTP_GET_SIZE:-1G}
SERVER_CPU=${HTTP_SERVER_CPU-0}
CLIENT_CPU=${HTTP_CLIENT_CPU-1}
GET_TIMEOUT=300  # seconds allowed for one download

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
read -r -a BOUND <<<"$(bound $((SECS + 30)))"
read -r -a GET_BOUND <<<"$(bound "$GET_TIMEOUT")"
WWW="$TMP/www"
NGX="$TMP/nginx"
SCHEME=http
CURL_OPTS=()
PROBE_TIME=2
CHECK_TIME=10

# wrk's sizes and times ("1.50MB", "850.00us") -> MiB, ms. wrk's units are binary.
to_mib() {
  awk -v s="$1" 'BEGIN { n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
    f["B"] = 1 / 1048576; f["KB"] = 1 / 1024; f["MB"] = 1; f["GB"] = 1024; f["TB"] = 1048576
    if (!(u in f)) exit 1; printf "%.2f", n * f[u] }'
}
to_ms() {
  awk -v s="$1" 'BEGIN { n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
    f["us"] = 0.001; f["ms"] = 1; f["s"] = 1000; f["m"] = 60000; f["h"] = 3600000
    if (!(u in f)) exit 1; printf "%.2f", n * f[u] }'
}

# ---- the files -------------------------------------------------------------
mkdir -p "$WWW" "$NGX"
head -c 1024 /dev/urandom >"$WWW/1k.bin"
head -c 1048576 /dev/urandom >"$WWW/1m.bin"
# nginx's worker runs as an unprivileged user when we are root: let it read.
chmod 755 "$TMP" "$WWW"
chmod 644 "$WWW"/*.bin

# ---- availability ----------------------------------------------------------
declare -A AVAIL
# CLI11 answers --help with the top-level help (exit 0) for a subcommand it
# does not know: look for the subcommand's own usage line.
has_evtool_cmd() {
  [ -x "$EVTOOL" ] && "${BOUND[@]}" "$EVTOOL" http "$1" --help 2>&1 | grep -q "^Usage: .*http $1"
}
has_evtool_cmd serve && AVAIL[evtool]=1
[ -x "$BIN/http_evhttp" ] && AVAIL[evhttp]=1
[ -x "$NGINX" ] && AVAIL[nginx]=1
[ -x "$H2O" ] && AVAIL[h2o]=1
[ "${AVAIL[evtool]:-0}" = 1 ] || NOTES+=("evtool: \`$EVTOOL http serve\` not available (no binary, or it has no such command)")
[ "${AVAIL[evhttp]:-0}" = 1 ] || NOTES+=("evhttp: $BIN/http_evhttp not built (needs libevent-dev)")
[ "${AVAIL[nginx]:-0}" = 1 ] || NOTES+=("nginx: $NGINX not installed (apt-get install nginx)")
[ "${AVAIL[h2o]:-0}" = 1 ] || NOTES+=("h2o: $H2O not installed (apt-get install h2o)")
have_clients

# ---- servers ---------------------------------------------------------------
launch() {  # launch NAME (start_server's)
  case $1 in
    evtool) "${SPIN[@]}" "$EVTOOL" http serve "$WWW" --port 0 --bind 127.0.0.1 -q >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    evhttp) "${SPIN[@]}" "$BIN/http_evhttp" "$WWW" 0 >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    nginx) start_nginx "" "access_log off;" ;;
    h2o) start_h2o ;;
  esac
}

# h2o with one thread (num-threads: 1, as nginx has one worker), no access
# log, serving $WWW on a free port. As root it serves as nobody, so its
# directory is world-writable for the error log it opens after that.
start_h2o() {
  SERVER_PORT=$(free_port)
  mkdir -p "$TMP/h2o"
  chmod 1777 "$TMP/h2o"
  local user=""
  [ "$(id -u)" = 0 ] && user="user: nobody"
  cat >"$TMP/h2o/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $SERVER_PORT
num-threads: 1
max-connections: 20000
error-log: $TMP/h2o/error.log
$user
hosts:
  "default":
    paths:
      /:
        file.dir: $WWW
CONF
  "${SPIN[@]}" "$H2O" -c "$TMP/h2o/h2o.conf" >"$TMP/server.out" 2>"$TMP/server.err" &
}

# ---- 1. wrk ----------------------------------------------------------------
open_results http_results.jsonl
SERVERS=(evtool evhttp nginx h2o)
declare -A RPS MIBS P99 BUSY COST

# run_wrk FILE -> "rps mib p99_ms non2xx sockerr cpu_s"; 1 if wrk failed.
run_wrk() {
  local rps xfer mib p99
  wrk_run "$CONNS" "$SECS" --latency "http://127.0.0.1:$SERVER_PORT/$1"
  rps=$(wrk_rps)
  xfer=$(awk '/^Transfer\/sec:/ { print $2 }' <<<"$WRK_OUT")
  [ "$WRK_RC" -eq 0 ] && num "$rps" && [ -n "$xfer" ] || return 1
  mib=$(to_mib "$xfer") || return 1
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$WRK_OUT")
  p99=$(to_ms "${p99:-x}") || p99="—"
  echo "$rps $mib $p99 $WRK_ERRORS $WRK_CPU"
}

if [ $HAVE_WRK = 0 ]; then
  NOTES+=("wrk not installed (apt-get install wrk): no throughput table")
elif [ $HAVE_CURL = 1 ]; then
  for file in $FILES; do
    [ -f "$WWW/$file" ] || { NOTES+=("no such file: $file (1k.bin, 1m.bin)"); continue; }
    for rep in $(seq "$RUNS"); do
      # Rotate who goes first: other load on the machine drifts.
      order=()
      for i in 0 1 2 3; do order+=("${SERVERS[$(((i + rep - 1) % 4))]}"); done
      for server in "${order[@]}"; do
        [ "${AVAIL[$server]:-0}" = 1 ] || continue
        echo "http: $file, $server, run $rep/$RUNS ..." >&2
        where="$file, $server, run $rep"
        res=""
        if ready_server "$server" "$file" "$where"; then
          res=$(run_wrk "$file")
          rc=$?
          read -r rps mib p99 non2xx sockerr cpu <<<"$res"
          end_run $rc "$non2xx" || { NOTES+=("$where: $WHY"); res=""; }
        fi
        if [ -z "$res" ]; then
          RPS[$file,$server]+=" fail"; MIBS[$file,$server]+=" fail"
          continue
        fi
        [ "$sockerr" = - ] && sockerr=""
        [ -z "$sockerr" ] || NOTES+=("$where: wrk socket errors: ${sockerr//_/ }")
        read -r busy cost <<<"$(server_load "$cpu" "$rps")"
        RPS[$file,$server]+=" $rps"; MIBS[$file,$server]+=" $mib"
        P99[$file,$server]+=" $p99"; BUSY[$file,$server]+=" $busy"; COST[$file,$server]+=" $cost"
        printf '{"bench":"wrk","file":"%s","server":"%s","rep":%s,"seconds":%s,"conns":%s,"requests_per_s":%s,"mib_per_s":%s,"p99_ms":"%s","server_cpu_s":%s,"socket_errors":"%s"}\n' \
          "$file" "$server" "$rep" "$SECS" "$CONNS" "$rps" "$mib" "$p99" "$cpu" "${sockerr//_/ }" >>"$RESULTS"
      done
    done
  done

  echo
  echo "### http: static files under wrk (-t1 -c$CONNS -d${SECS}s, keep-alive; median of $RUNS)"
  echo
  echo "$(machine)" \
    "libevent $(pkg-config --modversion libevent 2>/dev/null || echo '?'); load average ${LOAD_START:-?} at the start, $(loadavg) at the end"
  echo
  echo "| file | server | requests/s | MiB/s | p99 latency (ms) | server CPU µs/request | server CPU busy | / nginx | / h2o | / evhttp |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  declare -A MRPS MMIB
  # What the ratios compare: requests/s for 1 KiB, MiB/s for bigger files.
  metric() { if [ "$1" = 1k.bin ]; then echo "${MRPS[$1,$2]:-—}"; else echo "${MMIB[$1,$2]:-—}"; fi; }
  for file in $FILES; do
    [ -f "$WWW/$file" ] || continue
    for server in "${SERVERS[@]}"; do
      # shellcheck disable=SC2086
      MRPS[$file,$server]=$(median ${RPS[$file,$server]:-—})
      # shellcheck disable=SC2086
      MMIB[$file,$server]=$(median ${MIBS[$file,$server]:-—})
    done
    for server in "${SERVERS[@]}"; do
      if [ "${AVAIL[$server]:-0}" != 1 ]; then
        echo "| $file | $server | not available | | | | | | | |"
        continue
      fi
      vs_nginx="—"; vs_evhttp="—"; vs_h2o="—"
      [ "$server" != nginx ] && vs_nginx=$(ratio "$(metric "$file" "$server")" "$(metric "$file" nginx)")
      [ "$server" != h2o ] && vs_h2o=$(ratio "$(metric "$file" "$server")" "$(metric "$file" h2o)")
      [ "$server" != evhttp ] && vs_evhttp=$(ratio "$(metric "$file" "$server")" "$(metric "$file" evhttp)")
      # shellcheck disable=SC2086
      busy=$(median_fixed 0 ${BUSY[$file,$server]:-—})
      num "$busy" && busy="$busy%"
      # shellcheck disable=SC2086
      p99=$(median_fixed 2 ${P99[$file,$server]:-—})
      # shellcheck disable=SC2086
      cost=$(median_fixed 2 ${COST[$file,$server]:-—})
      echo "| $file | $server | $(thousands "${MRPS[$file,$server]}") | $(fixed "${MMIB[$file,$server]}" 1) | $p99 | $cost | $busy | $vs_nginx | $vs_h2o | $vs_evhttp |"
    done
  done
  echo
  echo "Ratios compare requests/s for 1k.bin and MiB/s (wrk's Transfer/sec, headers included) for bigger files."
  echo "Server CPU is user + system time of the server's processes (from /proc) during the run: a server well"
  echo "below 100% busy is not what limits the rate (one wrk thread on one CPU may be)."
  goals_head "evtool ratio"
  # The better peer: the higher of nginx's and h2o's medians.
  better() { local a=$1 b=$2; if ! num "$a"; then echo "$b"; elif ! num "$b"; then echo "$a"; else awk -v a="$a" -v b="$b" 'BEGIN { print (a > b ? a : b) }'; fi; }
  goal_row "1 KiB requests/s vs the better of nginx and h2o" "${MRPS[1k.bin,evtool]:-—}" "$(better "${MRPS[1k.bin,nginx]:-—}" "${MRPS[1k.bin,h2o]:-—}")" ">=" 1.10
  goal_row "1 KiB requests/s vs evhttp" "${MRPS[1k.bin,evtool]:-—}" "${MRPS[1k.bin,evhttp]:-—}" ">=" 1.50
  goal_row "1 MiB MiB/s vs the better of nginx and h2o" "${MMIB[1m.bin,evtool]:-—}" "$(better "${MMIB[1m.bin,nginx]:-—}" "${MMIB[1m.bin,h2o]:-—}")" ">=" 1.00
fi

# ---- idle connections --------------------------------------------------------
# HTTP_IDLE_CONNS keep-alive connections that never send a request: the
# growth of the serving processes' VmRSS per connection (nginx: master and
# worker summed; they share the listening socket, not the connections).
IDLE_CONNS=${HTTP_IDLE_CONNS:-10000}
tree_rss_kib() { local p total=0; for p in $(tree "$1"); do total=$((total + $(rss_kib "$p" || echo 0))); done; echo "$total"; }
idle_run() {  # idle_run SERVER -> bytes per connection; 1 on failure
  local before after fds client
  ready_server "$1" 1k.bin "idle, $1" || return 1
  sleep 0.5
  before=$(tree_rss_kib "$SERVER_PID")
  "${CPIN[@]}" "$BIN/echo_load" --mode idle --conns "$IDLE_CONNS" --hold 120 --host 127.0.0.1 --port "$SERVER_PORT" \
    >"$TMP/idle.out" 2>"$TMP/idle.err" &
  client=$!
  for _ in $(seq 900); do grep -q '"ready":true' "$TMP/idle.out" && break; kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
  for _ in $(seq 300); do
    fds=0
    for p in $(tree "$SERVER_PID"); do fds=$((fds + $(fd_count "$p"))); done
    [ "$fds" -ge "$IDLE_CONNS" ] && break
    sleep 0.1
  done
  sleep 1
  after=$(tree_rss_kib "$SERVER_PID")
  stop_pid "$client"
  stop_server
  grep -q '"ready":true' "$TMP/idle.out" && [ "$fds" -ge "$IDLE_CONNS" ] || return 1
  echo $(((after - before) * 1024 / IDLE_CONNS))
}
if [ -x "$BIN/echo_load" ] && [ "$IDLE_CONNS" != 0 ]; then
  declare -A IDLE
  for rep in $(seq "$RUNS"); do
    for server in evtool nginx h2o; do
      [ "${AVAIL[$server]:-0}" = 1 ] || continue
      echo "http: $IDLE_CONNS idle connections, $server, run $rep/$RUNS ..." >&2
      if b=$(idle_run "$server"); then IDLE[$server]+=" $b"; else NOTES+=("idle, $server, run $rep: failed"); fi
    done
  done
  echo
  echo "### http: $IDLE_CONNS idle keep-alive connections, server VmRSS growth per connection (bytes, median of $RUNS)"
  echo
  echo "| server | bytes per connection | evtool / this |"
  echo "|---|---:|---:|"
  # shellcheck disable=SC2086
  ours=$(median ${IDLE[evtool]:-—})
  for server in evtool nginx h2o; do
    # shellcheck disable=SC2086
    m=$(median ${IDLE[$server]:-—})
    r="—"; [ "$server" != evtool ] && r=$(ratio "$ours" "$m")
    echo "| $server | $m | $r |"
  done
  goals_head "evtool ratio"
  # shellcheck disable=SC2086
  goal_row "idle bytes per connection vs nginx" "$ours" "$(median ${IDLE[nginx]:-—})" "<=" 1.00
fi

# ---- 2. one big download ---------------------------------------------------
get_test() {
  local size_bytes url who wall rss t0 t1 out rc got
  truncate -s "$GET_SIZE" "$WWW/big.bin" || return 1
  chmod 644 "$WWW/big.bin"
  size_bytes=$(stat -c %s "$WWW/big.bin")
  if ! start_server nginx; then
    NOTES+=("download test: nginx did not start: $(server_err)")
    stop_server
    return 1
  fi
  url="http://127.0.0.1:$SERVER_PORT/big.bin"
  declare -A WALL RSS
  local clients=(curl)
  if has_evtool_cmd get; then
    # Correctness first: 1m.bin to a file, compared byte for byte.
    rm -f "$TMP/get.out"
    if "${GET_BOUND[@]}" "$EVTOOL" http get -o "$TMP/get.out" "http://127.0.0.1:$SERVER_PORT/1m.bin" >/dev/null 2>"$TMP/client.err" &&
       cmp -s "$TMP/get.out" "$WWW/1m.bin"; then
      clients=(evtool curl)
    else
      NOTES+=("download test: \`evtool http get -o FILE\` of 1m.bin did not give the file: $(head -c 200 "$TMP/client.err" | tr '\n' ' ')")
      WALL[evtool]=" fail"; RSS[evtool]=" fail"
    fi
  fi
  # One untimed download puts the file's pages in the page cache.
  curl -s -o /dev/null --max-time "$GET_TIMEOUT" "$url"
  for rep in $(seq "$RUNS"); do
    local order=("${clients[@]}")
    [ $((rep % 2)) -eq 0 ] && [ ${#clients[@]} -eq 2 ] && order=("${clients[1]}" "${clients[0]}")
    for who in "${order[@]}"; do
      echo "http get: $GET_SIZE, $who, run $rep/$RUNS ..." >&2
      rm -f "$TMP/time.out"
      t0=$(date +%s%N)
      if [ "$who" = curl ]; then
        out=$("${GET_BOUND[@]}" "${CPIN[@]}" /usr/bin/time -f '%e %M' -o "$TMP/time.out" \
                curl -s -o /dev/null -w '%{size_download}' --max-time "$GET_TIMEOUT" "$url" 2>"$TMP/client.err")
      else
        out=$("${GET_BOUND[@]}" "${CPIN[@]}" /usr/bin/time -f '%e %M' -o "$TMP/time.out" \
                "$EVTOOL" http get -o /dev/null "$url" 2>"$TMP/client.err")
      fi
      rc=$?
      t1=$(date +%s%N)
      got=$size_bytes
      [ "$who" = curl ] && got=$out
      rss=$(tail -n 1 "$TMP/time.out" 2>/dev/null | awk '{ print $2 }')
      if [ $rc -ne 0 ] || [ "$got" != "$size_bytes" ] || ! num "$rss"; then
        NOTES+=("download test, $who, run $rep: exit $rc, $got of $size_bytes bytes: $(head -c 200 "$TMP/client.err" | tr '\n' ' ')")
        WALL[$who]+=" fail"; RSS[$who]+=" fail"
        continue
      fi
      wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
      WALL[$who]+=" $wall"; RSS[$who]+=" $rss"
      printf '{"bench":"get","client":"%s","rep":%s,"bytes":%s,"wall_s":%s,"max_rss_kib":%s}\n' \
        "$who" "$rep" "$size_bytes" "$wall" "$rss" >>"$RESULTS"
    done
  done
  stop_server
  rm -f "$WWW/big.bin"

  local mw mr ew er cw cr
  echo
  echo "### http get: one $GET_SIZE file (sparse) from nginx to /dev/null (median of $RUNS)"
  echo
  echo "clients ${CPIN[*]:-not pinned}, nginx ${SPIN[*]:-not pinned}; wall time of the whole client process, max RSS from /usr/bin/time %M"
  echo
  echo "| client | wall (s) | MiB/s | max RSS (MiB) |"
  echo "|---|---:|---:|---:|"
  for who in evtool curl; do
    if [ "$who" = evtool ]; then label="evtool http get -o /dev/null"; else label="curl -s -o /dev/null"; fi
    if [ "$who" = evtool ] && ! has_evtool_cmd get; then
      echo "| $label | not available | | |"
      continue
    fi
    # shellcheck disable=SC2086
    mw=$(median ${WALL[$who]:-—})
    # shellcheck disable=SC2086
    mr=$(median ${RSS[$who]:-—})
    local speed="—" mib="$mr"
    num "$mw" && speed=$(awk -v b="$size_bytes" -v w="$mw" 'BEGIN { if (w > 0) printf "%.0f", b / 1048576 / w }')
    num "$mr" && mib=$(awk -v k="$mr" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "| $label | $mw | $speed | $mib |"
    if [ "$who" = evtool ]; then ew=$mw; er=$mr; else cw=$mw; cr=$mr; fi
  done
  goals_head "evtool / curl"
  goal_row "wall time" "${ew:-—}" "${cw:-—}" "<=" 1.00
  goal_row "max RSS" "${er:-—}" "${cr:-—}" "<=" 0.75
}

if [ "$GET_SIZE" != 0 ]; then
  if [ "${AVAIL[nginx]:-0}" != 1 ] || [ $HAVE_CURL = 0 ] || [ ! -x /usr/bin/time ]; then
    NOTES+=("download test skipped: needs nginx, curl and /usr/bin/time (apt-get install nginx curl time)")
  else
    get_test
  fi
fi

print_notes
