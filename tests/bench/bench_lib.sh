# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are the scripts'
# What the server benchmarks share (run_echo_bench.sh, run_http_bench.sh,
# run_https_bench.sh, run_zone_bench.sh and run_soak.sh source it from their
# own directory, in the source tree or the build tree's copy;
# run_dns_bench.sh takes only its NSD configuration): pinning, the temporary
# directory and cleanup, stopping processes, CPU, memory and descriptor
# accounting, medians and number formats, NSD's configuration, and for the
# HTTP ones nginx, starting and checking servers, wrk runs and the goals
# table.

# ---- setup -----------------------------------------------------------------
pin() {  # pin CPU -> the taskset prefix, or nothing
  if [ -n "$1" ] && command -v taskset >/dev/null 2>&1 && taskset -c "$1" true 2>/dev/null; then
    echo "taskset -c $1"
  fi
}
bound() {  # bound SECONDS -> the timeout(1) prefix, or nothing
  if command -v timeout >/dev/null 2>&1; then
    echo "timeout $1"
  fi
}

# bench_init: raises the descriptor limit to the hard one; SPIN and CPIN,
# the prefixes that pin to SERVER_CPU and CLIENT_CPU; TMP, a temporary
# directory removed on exit, when the server (SERVER_PID) and a client
# (CLIENT_PID) still running are stopped; TICKS_PER_S; NOTES, printed by
# print_notes.
bench_init() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null
  read -r -a SPIN <<<"$(pin "$SERVER_CPU")"
  read -r -a CPIN <<<"$(pin "$CLIENT_CPU")"
  TMP=$(mktemp -d)
  SERVER_PID=""
  SERVER_PORT=""
  CLIENT_PID=""
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  TICKS_PER_S=$(getconf CLK_TCK 2>/dev/null || echo 100)
  NOTES=()
}

# ---- processes -------------------------------------------------------------
# A process and all its descendants (nginx serves from its worker).
tree() { local c; echo "$1"; for c in $(pgrep -P "$1" 2>/dev/null); do tree "$c"; done; }
STOP_WAIT=3  # seconds stop_pid allows before KILL
stop_pid() {  # stop_pid PID: TERM, up to STOP_WAIT s, then KILL it and its descendants
  local pid=$1 all
  [ -n "$pid" ] || return 0
  all=$(tree "$pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq $((STOP_WAIT * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $all 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$CLIENT_PID"
  stop_pid "$SERVER_PID"
  rm -rf "$TMP"
}
stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}
server_err() { head -c 300 "$TMP/server.err" | tr '\n' ' '; }
# The port of the server's "listening on ADDRESS:PORT" line, if it printed one.
listening_port() { sed -n 's/^listening on [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$TMP/server.out" | head -n 1; }

# utime + stime clock ticks of a process tree.
cpu_ticks() {
  local total=0 p t
  for p in $(tree "$1"); do
    t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null; }

# pick_cases NAMES: keeps the CASES ("name|...") named in NAMES (all when empty).
pick_cases() {
  [ -n "$1" ] || return 0
  local picked=() c
  for c in "${CASES[@]}"; do
    [[ " $1 " == *" ${c%%|*} "* ]] && picked+=("$c")
  done
  CASES=("${picked[@]}")
}

# timed_load FIELD ARGS: one echo_load run (ARGS, for SECS seconds, pinned
# with CPIN) against SERVER_PORT; prints its JSON with the CPU seconds of
# SERVER_PID's tree during the run added as FIELD.
timed_load() {
  local t0 t1 out rc
  t0=$(cpu_ticks "$SERVER_PID")
  # shellcheck disable=SC2086  # ARGS are words
  out=$("${BOUND[@]}" "${CPIN[@]}" "$BIN/echo_load" $2 --seconds "$SECS" --host 127.0.0.1 --port "$SERVER_PORT" \
          2>"$TMP/client.err")
  rc=$?
  t1=$(cpu_ticks "$SERVER_PID")
  [ $rc -eq 0 ] && [ -n "$out" ] || return 1
  printf '%s,"%s":%s}\n' "${out%\}}" "$1" "$(awk -v a="${t0:-0}" -v b="${t1:-0}" -v hz="$TICKS_PER_S" 'BEGIN { printf "%.2f", (b - a) / hz }')"
}
# A process's resident memory (all of it, and its private part) in KiB,
# and how many descriptors it holds.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- numbers ---------------------------------------------------------------
json_field() {  # json_field LINE KEY -> value (numbers and plain strings only)
  printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
# median VALUES... -> the median of the numeric ones, or "fail" / "—".
median() {
  local nums
  nums=$(printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g)
  if [ -z "$nums" ]; then
    if printf '%s\n' "$@" | grep -q fail; then echo fail; else echo "—"; fi
    return
  fi
  printf '%s\n' "$nums" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
num() { [[ $1 =~ ^[0-9.]+$ ]]; }
ratio() {  # ratio A B -> A / B with two decimals, or "—"
  if num "$1" && num "$2" && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
  else
    echo "—"
  fi
}
met() {  # met RATIO OP LIMIT -> yes / no / —
  num "$1" || { echo "—"; return; }
  awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (r >= l) : (r <= l); print ok ? "yes" : "no" }'
}
# 1,234,567 for whole numbers; others as given.
thousands() {
  num "$1" || { echo "$1"; return; }
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
}
fixed() {  # fixed VALUE DECIMALS
  num "$1" || { echo "$1"; return; }
  awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'
}
median_fixed() { fixed "$(median "${@:2}")" "$1"; }  # median_fixed DECIMALS VALUES...

# ---- report ----------------------------------------------------------------
# open_results FILE: RESULTS, BIN/FILE, emptied; LOAD_START.
open_results() {
  RESULTS="$BIN/$1"
  mkdir -p "$BIN"
  : >"$RESULTS"
  LOAD_START=$(loadavg)
}
# The machine line under an HTTP table's title.
machine() {
  echo "servers ${SPIN[*]:-not pinned}, wrk ${CPIN[*]:-not pinned}; $(nproc) CPUs, $(uname -sr); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'),"
}
goals_head() {  # goals_head RATIO_HEADING
  echo
  echo "| goal | $1 | target | met |"
  echo "|---|---:|---:|:---:|"
}
goal_row() {  # goal_row LABEL A B OP LIMIT: a goals-table row for the ratio A / B, OP >= or <=
  local r sign="≥"
  [ "$4" = "<=" ] && sign="≤"
  r=$(ratio "$2" "$3")
  echo "| $1 | $r | $sign $5 | $(met "$r" "$4" "$5") |"
}
print_notes() {  # the NOTES, then where the raw results are
  if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    for note in "${NOTES[@]}"; do echo "- $note"; done
  fi
  echo
  echo "Raw results: $RESULTS"
}

# ---- DNS servers -----------------------------------------------------------
# nsd_conf DIR PORT ZONE FILE: DIR/nsd.conf for NSD with one server process
# on 127.0.0.1:PORT, serving zone ZONE from FILE (read as text at start-up,
# no database), everything it writes in DIR.
nsd_conf() {
  mkdir -p "$1"
  cat >"$1/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$2
  server-count: 1
  username: ""
  zonesdir: "$1"
  database: ""
  pidfile: "$1/nsd.pid"
  xfrdfile: "$1/xfrd.state"
  zonelistfile: "$1/zone.list"
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: $3
  zonefile: "$4"
CONF
}

# ---- HTTP servers ----------------------------------------------------------
# have_clients: HAVE_WRK and HAVE_CURL, 1 or 0; a note without curl.
have_clients() {
  HAVE_WRK=0
  command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
  HAVE_CURL=0
  command -v curl >/dev/null 2>&1 && HAVE_CURL=1
  [ $HAVE_CURL = 1 ] || NOTES+=("curl not installed: no server can be checked, so none is run")
}

# The HTTP scripts set WWW (the files), NGX (nginx's directory), NGINX,
# SCHEME and CURL_OPTS (for fetch), PROBE_TIME and CHECK_TIME (fetch's
# --max-time while a server starts and in check_file), and define
# launch NAME [ARG]: starts server NAME in the background, output to
# $TMP/server.out and $TMP/server.err (nginx: with start_nginx).

# knot_conf DIR PORT ZONE FILE: DIR/knot.conf for Knot DNS serving ZONE from
# FILE on 127.0.0.1:PORT with one UDP worker (as NSD's server-count: 1),
# semantic checks and journal off, its run and storage directories in DIR.
knot_conf() {
  cat >"$1/knot.conf" <<CONF
server:
  rundir: "$1"
  listen: 127.0.0.1@$2
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "$1"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "$1"
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: $3
    file: "$4"
CONF
}

# nginx_conf LISTEN LOG [SERVER_LINE...]: a config that keeps every path
# inside $NGX, serving $WWW on LISTEN with LOG for its access log.
nginx_conf() {
  local user="" line extra=""
  if [ "$(id -u)" = 0 ]; then
    if id www-data >/dev/null 2>&1; then user="user www-data;"; else user="user nobody nogroup;"; fi
  fi
  local types="types { application/octet-stream bin; }"
  [ -r /etc/nginx/mime.types ] && types="include /etc/nginx/mime.types;"
  for line in "${@:3}"; do extra+="    $line"$'\n'; done
  cat >"$NGX/nginx.conf" <<CONF
$user
worker_processes 1;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 16384; }
worker_rlimit_nofile 20000;
http {
  $types
  default_type application/octet-stream;
  $2
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  client_body_temp_path $NGX/client_body;
  proxy_temp_path $NGX/proxy;
  fastcgi_temp_path $NGX/fastcgi;
  uwsgi_temp_path $NGX/uwsgi;
  scgi_temp_path $NGX/scgi;
  server {
    listen 127.0.0.1:$1;
    server_name localhost;
${extra}    root $WWW;
    location / { }
  }
}
CONF
}
# start_nginx LISTEN_SUFFIX LOG [SERVER_LINE...]: nginx (one worker) in the
# background on a free port, SERVER_PORT, with nginx_conf's config.
start_nginx() {
  SERVER_PORT=$(free_port)
  nginx_conf "$SERVER_PORT$1" "${@:2}"
  : >"$NGX/error.log"
  "${SPIN[@]}" "$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;' \
    >"$TMP/server.out" 2>"$TMP/server.err" &
}

# fetch FILE OUT MAX_TIME -> the status code of GET /FILE from the server.
fetch() {
  curl -s -o "$2" --max-time "$3" "${CURL_OPTS[@]}" -w '%{http_code}' "$SCHEME://127.0.0.1:$SERVER_PORT/$1"
}

# start_server NAME [ARG]: launches server NAME; sets SERVER_PID and
# SERVER_PORT; 1 if it is not serving 1k.bin after 10 s.
start_server() {
  local name=$1
  SERVER_PORT=""
  : >"$TMP/server.out"
  : >"$TMP/server.err"
  launch "$@"
  SERVER_PID=$!
  for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if [ -z "$SERVER_PORT" ]; then
      SERVER_PORT=$(listening_port)
    fi
    if [ -n "$SERVER_PORT" ] && [ "$(fetch 1k.bin /dev/null "$PROBE_TIME")" = 200 ]; then
      return 0
    fi
    sleep 0.1
  done
  [ "$name" = nginx ] && cat "$NGX/error.log" >>"$TMP/server.err"
  return 1
}

# check_file FILE: the server sends FILE byte for byte with status 200.
check_file() {
  local got="$TMP/check.out"
  rm -f "$got"
  [ "$(fetch "$1" "$got" "$CHECK_TIME")" = 200 ] && cmp -s "$got" "$WWW/$1"
}

# ready_server NAME FILE WHERE [WHY]: starts server NAME and checks that it
# sends FILE; if not, a note "WHERE: ..." (WHY for one that did not start)
# and 1, the server stopped.
ready_server() {
  if ! start_server "$1"; then
    NOTES+=("$3: ${4:-did not start}: $(server_err)")
    stop_server
    return 1
  fi
  if ! check_file "$2"; then
    NOTES+=("$3: GET /$2 did not return the file with status 200")
    stop_server
    return 1
  fi
}

# ---- wrk -------------------------------------------------------------------
# wrk_run CONNS SECONDS ARG...: one wrk thread (bounded by BOUND, pinned by
# CPIN) against the server. Sets WRK_OUT (also in $TMP/wrk.out), WRK_RC,
# WRK_ERRORS ("NON2XX SOCKERR": non-2xx/3xx responses, wrk's socket errors
# with _ for spaces or -) and WRK_CPU (the server's CPU seconds meanwhile).
wrk_run() {
  local t0 t1 non2xx sockerr
  t0=$(cpu_ticks "$SERVER_PID")
  WRK_OUT=$("${BOUND[@]}" "${CPIN[@]}" wrk -t1 -c"$1" -d"$2s" "${@:3}" 2>&1)
  WRK_RC=$?
  t1=$(cpu_ticks "$SERVER_PID")
  printf '%s\n' "$WRK_OUT" >"$TMP/wrk.out"
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$WRK_OUT")
  sockerr=$(sed -n 's/.*Socket errors: //p' <<<"$WRK_OUT")
  sockerr=${sockerr// /_}
  WRK_ERRORS="${non2xx:-0} ${sockerr:--}"
  WRK_CPU=$(awk -v a="$t0" -v b="$t1" -v hz="$TICKS_PER_S" 'BEGIN { printf "%.2f", (b - a) / hz }')
}
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' <<<"$WRK_OUT"; }

# end_run RC NON2XX: stops the server after a wrk run; 1, with WHY, if the
# run does not count (wrk failed with RC, the server died, or it sent
# NON2XX non-2xx/3xx responses).
end_run() {
  local alive=1
  kill -0 "$SERVER_PID" 2>/dev/null || alive=0
  stop_server
  [ "$1" -eq 0 ] && [ $alive = 1 ] && [ "${2:-0}" = 0 ] && return 0
  WHY="wrk failed: $(tail -n 3 "$TMP/wrk.out" | tr '\n' ' ')"
  [ $alive = 0 ] && WHY="the server died: $(server_err)"
  [ "$1" -eq 0 ] && [ "${2:-0}" != 0 ] && WHY="$2 non-2xx/3xx responses"
  return 1
}

# server_load CPU_S RPS -> "BUSY COST": the server's CPU busy (%) over SECS
# and its CPU µs per request.
server_load() {
  awk -v c="$1" -v s="$SECS" -v r="$2" 'BEGIN { printf "%.0f %s", 100 * c / s, (r > 0) ? sprintf("%.2f", c * 1e6 / (r * s)) : "" }'
}
