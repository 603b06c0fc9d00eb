#!/usr/bin/env bash
# The HTTPS benchmark (README.md), on loopback only: one 1 KiB file under wrk
# over TLS, `evtool http serve --tls` vs nginx (one worker, access_log off,
# ssl_session_cache shared:SSL:1m, TLSv1.2 and TLSv1.3), both with the same
# EC P-256 certificate made with openssl in a temporary directory. Two modes:
#   keepalive  wrk -t1 -c64: 64 kept-alive connections, requests/s;
#   close      the same with `-H 'Connection: close'`: every request on a new
#              connection, so requests/s = TLS handshakes/s.
# Each run starts a fresh server pinned to CPU 0 with wrk pinned to CPU 1; the
# servers take turns going first; medians. The server's CPU time (user +
# system of its process tree) gives CPU µs per request. wrk keeps one SSL
# object per connection and may resume TLS sessions when it reconnects: a
# short extra run against nginx logging $ssl_session_reused says whether it
# does, and a Python client checks that each server resumes a session it is
# offered. A server that is not there (an evtool without `http serve --tls`,
# no nginx) gets "not available" rows; the rest still runs.
#
#   run_https_bench.sh [BUILD_DIR]     (default: build)
#
# Environment (defaults in brackets):
#   EVTOOL               the evtool binary [BUILD_DIR/evtool]
#   NGINX                the nginx binary [/usr/sbin/nginx]
#   HTTPS_BENCH_SECONDS  wrk duration per run, whole seconds [8]
#   HTTPS_BENCH_RUNS     runs per cell; medians [3]
#   HTTPS_BENCH_CONNS    wrk connections [64]
#   HTTPS_BENCH_MODES    which modes to run ["keepalive close"]
#   HTTPS_SERVER_CPU     CPU for the servers, "" for none [0]
#   HTTPS_CLIENT_CPU     CPU for wrk, "" for none [1]
# Raw results (one JSON line per run) go to
# BUILD_DIR/tests/bench/https_results.jsonl.
set -u

BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
BIN="$BUILD/tests/bench"
EVTOOL=${EVTOOL:-$BUILD/evtool}
NGINX=${NGINX:-/usr/sbin/nginx}
SECS=${HTTPS_BENCH_SECONDS:-8}
RUNS=${HTTPS_BENCH_RUNS:-3}
CONNS=${HTTPS_BENCH_CONNS:-64}
MODES=${HTTPS_BENCH_MODES:-"keepalive close"}
SERVER_CPU=${HTTPS_SERVER_CPU-0}
CLIENT_CPU=${HTTPS_CLIENT_CPU-1}
PROBE_SECS=1  # the session-reuse probe's wrk run

ulimit -n "$(ulimit -Hn)" 2>/dev/null

pin() {  # pin CPU -> the taskset prefix, or nothing
  if [ -n "$1" ] && command -v taskset >/dev/null 2>&1 && taskset -c "$1" true 2>/dev/null; then
    echo "taskset -c $1"
  fi
}
read -r -a SPIN <<<"$(pin "$SERVER_CPU")"
read -r -a CPIN <<<"$(pin "$CLIENT_CPU")"
BOUND=()
SHORT=()
if command -v timeout >/dev/null 2>&1; then
  BOUND=(timeout "$((SECS + 30))")
  SHORT=(timeout 30)
fi

TMP=$(mktemp -d)
WWW="$TMP/www"
NGX="$TMP/nginx"
CERT="$TMP/tls/cert.pem"
KEY="$TMP/tls/key.pem"
SERVER_PID=""
SERVER_PORT=""

# A process and all its descendants (nginx serves from its worker).
tree() { local c; echo "$1"; for c in $(pgrep -P "$1" 2>/dev/null); do tree "$c"; done; }
stop_pid() {  # stop_pid PID: TERM, up to 3 s, then KILL it and its descendants
  local pid=$1 all
  [ -n "$pid" ] || return 0
  all=$(tree "$pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $all 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$SERVER_PID"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# utime + stime clock ticks of a process tree.
cpu_ticks() {
  local total=0 p t
  for p in $(tree "$1"); do
    t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
TICKS_PER_S=$(getconf CLK_TCK 2>/dev/null || echo 100)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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
mode_label() {
  case $1 in
    keepalive) echo "keep-alive" ;;
    close) echo "new connection per request" ;;
    *) echo "$1" ;;
  esac
}

# ---- the file and the certificate -------------------------------------------
mkdir -p "$WWW" "$NGX" "$TMP/tls"
head -c 1024 /dev/urandom >"$WWW/1k.bin"
# nginx's worker runs as an unprivileged user when we are root: let it read.
# The key stays private: nginx's master reads it before dropping privileges.
chmod 755 "$TMP" "$WWW"
chmod 644 "$WWW/1k.bin"
NOTES=()
HAVE_CERT=0
if command -v openssl >/dev/null 2>&1 &&
   "${SHORT[@]}" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
     -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 -keyout "$KEY" -out "$CERT" >"$TMP/openssl.err" 2>&1; then
  HAVE_CERT=1
else
  NOTES+=("could not make the certificate with openssl: $(head -c 300 "$TMP/openssl.err" 2>/dev/null | tr '\n' ' ')")
fi

# ---- availability ----------------------------------------------------------
declare -A AVAIL
# CLI11 answers --help with the top-level help (exit 0) for a subcommand it
# does not know: look for the subcommand's own usage line, then for --tls.
if [ -x "$EVTOOL" ]; then
  help=$("${SHORT[@]}" "$EVTOOL" http serve --help 2>&1)
  grep -q "^Usage: .*http serve" <<<"$help" && grep -q -- "--tls" <<<"$help" && AVAIL[evtool]=1
fi
[ -x "$NGINX" ] && "$NGINX" -V 2>&1 | grep -q http_ssl_module && AVAIL[nginx]=1
HAVE_WRK=0
command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
HAVE_CURL=0
command -v curl >/dev/null 2>&1 && HAVE_CURL=1
[ "${AVAIL[evtool]:-0}" = 1 ] || NOTES+=("evtool: \`$EVTOOL http serve --tls\` not available (no binary, or it has no such command or option)")
[ "${AVAIL[nginx]:-0}" = 1 ] || NOTES+=("nginx: $NGINX not installed or without http_ssl_module (apt-get install nginx)")
[ $HAVE_CURL = 1 ] || NOTES+=("curl not installed: no server can be checked, so none is run")

# ---- servers ---------------------------------------------------------------
# nginx_conf PORT [LOG]: a config that keeps every path inside $NGX; with LOG,
# an access log of "$ssl_session_reused $ssl_protocol" per request goes there.
nginx_conf() {
  local user=""
  if [ "$(id -u)" = 0 ]; then
    if id www-data >/dev/null 2>&1; then user="user www-data;"; else user="user nobody nogroup;"; fi
  fi
  local types="types { application/octet-stream bin; }"
  [ -r /etc/nginx/mime.types ] && types="include /etc/nginx/mime.types;"
  local log="access_log off;"
  [ -n "${2:-}" ] && log="log_format reuse '\$ssl_session_reused \$ssl_protocol'; access_log $2 reuse;"
  cat >"$NGX/nginx.conf" <<CONF
$user
worker_processes 1;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
  $types
  default_type application/octet-stream;
  $log
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
    listen 127.0.0.1:$1 ssl;
    server_name localhost;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_session_cache shared:SSL:1m;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $WWW;
    location / { }
  }
}
CONF
}

# fetch FILE OUT -> the status code; curl verifies the server's certificate
# against ours (self-signed), so a server with another certificate fails.
fetch() {
  curl -s -o "$2" --max-time 5 --cacert "$CERT" -w '%{http_code}' "https://127.0.0.1:$SERVER_PORT/$1"
}

# start_server NAME [NGINX_LOG]: sets SERVER_PID and SERVER_PORT; 1 if it is
# not serving 1k.bin over TLS after 10 s.
start_server() {
  local name=$1
  SERVER_PORT=""
  : >"$TMP/server.out"
  : >"$TMP/server.err"
  case $name in
    evtool)
      "${SPIN[@]}" "$EVTOOL" http serve "$WWW" --port 0 --bind 127.0.0.1 -q --tls --cert "$CERT" --key "$KEY" \
        >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    nginx)
      SERVER_PORT=$(free_port)
      nginx_conf "$SERVER_PORT" "${2:-}"
      : >"$NGX/error.log"
      "${SPIN[@]}" "$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;' \
        >"$TMP/server.out" 2>"$TMP/server.err" & ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if [ -z "$SERVER_PORT" ]; then
      SERVER_PORT=$(sed -n 's/^listening on [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$TMP/server.out" | head -n 1)
    fi
    if [ -n "$SERVER_PORT" ] && [ "$(fetch 1k.bin /dev/null)" = 200 ]; then
      return 0
    fi
    sleep 0.1
  done
  [ "$name" = nginx ] && cat "$NGX/error.log" >>"$TMP/server.err"
  return 1
}
stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}
server_err() { head -c 300 "$TMP/server.err" | tr '\n' ' '; }

# check_file FILE: the server sends FILE byte for byte with status 200.
check_file() {
  local got="$TMP/check.out"
  rm -f "$got"
  [ "$(fetch "$1" "$got")" = 200 ] && cmp -s "$got" "$WWW/$1"
}

# tls_probe -> "VERSION CIPHER RESUMED": two connections from Python's ssl
# module, the second offering the first one's session (tickets arrive after
# the handshake, so the first reads a whole response before it closes).
TLS_PROBE='
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def get(session=None):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk: sys.exit("no response")
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            while length and len(body) < length[0]:
                chunk = s.recv(4096)
                if not chunk: break
                body += chunk
            return s.session, s.session_reused, s.version(), s.cipher()[0]
session, _, version, cipher = get()
_, reused, _, _ = get(session)
print(version, cipher, "yes" if reused else "no")
'
tls_probe() { "${SHORT[@]}" python3 -c "$TLS_PROBE" "$SERVER_PORT" "$CERT" 2>"$TMP/probe.err"; }

# ---- wrk -------------------------------------------------------------------
RESULTS="$BIN/https_results.jsonl"
mkdir -p "$BIN"
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
SERVERS=(evtool nginx)
declare -A RPS BUSY COST ERRS TLSINFO

# run_wrk MODE [SECONDS] [CONNS] -> "rps non2xx sockerr cpu_s"; 1 if wrk failed.
run_wrk() {
  local out rc t0 t1 rps non2xx sockerr secs=${2:-$SECS} conns=${3:-$CONNS} hdr=()
  [ "$1" = close ] && hdr=(-H 'Connection: close')
  t0=$(cpu_ticks "$SERVER_PID")
  out=$("${BOUND[@]}" "${CPIN[@]}" wrk -t1 -c"$conns" -d"${secs}s" "${hdr[@]}" "https://127.0.0.1:$SERVER_PORT/1k.bin" 2>&1)
  rc=$?
  t1=$(cpu_ticks "$SERVER_PID")
  printf '%s\n' "$out" >"$TMP/wrk.out"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  [ $rc -eq 0 ] && num "$rps" || return 1
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  sockerr=$(sed -n 's/.*Socket errors: //p' <<<"$out")
  sockerr=${sockerr// /_}
  echo "$rps ${non2xx:-0} ${sockerr:--} $(awk -v a="$t0" -v b="$t1" -v hz="$TICKS_PER_S" 'BEGIN { printf "%.2f", (b - a) / hz }')"
}
# Sum of wrk's socket errors ("connect_0,_read_3,_write_0,_timeout_0").
err_total() { tr -c '0-9\n' ' ' <<<"$1" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }'; }

CAN_RUN=0
[ $HAVE_WRK = 1 ] && [ $HAVE_CURL = 1 ] && [ $HAVE_CERT = 1 ] && CAN_RUN=1
[ $HAVE_WRK = 1 ] || NOTES+=("wrk not installed (apt-get install wrk): no table")

if [ $CAN_RUN = 1 ]; then
  for mode in $MODES; do
    case $mode in keepalive | close) ;; *) NOTES+=("no such mode: $mode (keepalive, close)"); continue ;; esac
    for rep in $(seq "$RUNS"); do
      # Alternate who goes first: other load on the machine drifts.
      order=("${SERVERS[@]}")
      [ $((rep % 2)) -eq 0 ] && order=("${SERVERS[1]}" "${SERVERS[0]}")
      for server in "${order[@]}"; do
        [ "${AVAIL[$server]:-0}" = 1 ] || continue
        echo "https: $mode, $server, run $rep/$RUNS ..." >&2
        if ! start_server "$server"; then
          NOTES+=("$mode, $server, run $rep: did not start (or not with our certificate): $(server_err)")
          stop_server
          RPS[$mode,$server]+=" fail"
          continue
        fi
        if ! check_file 1k.bin; then
          NOTES+=("$mode, $server, run $rep: GET /1k.bin did not return the file with status 200")
          stop_server
          RPS[$mode,$server]+=" fail"
          continue
        fi
        if [ -z "${TLSINFO[$server]:-}" ]; then
          TLSINFO[$server]=$(tls_probe) || {
            NOTES+=("$server: the Python TLS check failed: $(tail -n 1 "$TMP/probe.err" | head -c 200)")
            TLSINFO[$server]="? ? ?"
          }
        fi
        res=$(run_wrk "$mode")
        rc=$?
        alive=1
        kill -0 "$SERVER_PID" 2>/dev/null || alive=0
        stop_server
        read -r rps non2xx sockerr cpu <<<"$res"
        if [ $rc -ne 0 ] || [ $alive = 0 ] || [ "${non2xx:-0}" != 0 ]; then
          why="wrk failed: $(tail -n 3 "$TMP/wrk.out" | tr '\n' ' ')"
          [ $alive = 0 ] && why="the server died: $(server_err)"
          [ $rc -eq 0 ] && [ "${non2xx:-0}" != 0 ] && why="$non2xx non-2xx/3xx responses"
          NOTES+=("$mode, $server, run $rep: $why")
          RPS[$mode,$server]+=" fail"
          continue
        fi
        [ "$sockerr" = - ] && sockerr=""
        [ -z "$sockerr" ] || NOTES+=("$mode, $server, run $rep: wrk socket errors: ${sockerr//_/ }")
        errs=0
        [ -z "$sockerr" ] || errs=$(err_total "$sockerr")
        busy=$(awk -v c="$cpu" -v s="$SECS" 'BEGIN { printf "%.0f", 100 * c / s }')
        cost=$(awk -v c="$cpu" -v s="$SECS" -v r="$rps" 'BEGIN { if (r > 0) printf "%.2f", c * 1e6 / (r * s) }')
        RPS[$mode,$server]+=" $rps"; BUSY[$mode,$server]+=" $busy"; COST[$mode,$server]+=" $cost"
        ERRS[$mode,$server]+=" $errs"
        printf '{"bench":"https","mode":"%s","server":"%s","rep":%s,"seconds":%s,"conns":%s,"requests_per_s":%s,"server_cpu_s":%s,"socket_errors":"%s"}\n' \
          "$mode" "$server" "$rep" "$SECS" "$CONNS" "$rps" "$cpu" "${sockerr//_/ }" >>"$RESULTS"
      done
    done
  done

  # Does wrk resume TLS sessions when it reconnects? nginx logs
  # $ssl_session_reused ("r" or ".") per request in a short extra run.
  REUSE="not checked"
  if [[ " $MODES " == *" close "* ]] && [ "${AVAIL[nginx]:-0}" = 1 ]; then
    echo "https: session-reuse probe (nginx, ${PROBE_SECS}s) ..." >&2
    if start_server nginx "$NGX/reuse.log"; then
      : >"$NGX/reuse.log"
      run_wrk close "$PROBE_SECS" 4 >/dev/null
      stop_server  # flushes the log
      REUSE=$(awk '{ n++; if ($1 == "r") r++; p[$2]++ }
        END { if (!n) { print "unclear (nothing logged)"; exit }
              for (k in p) ps = ps (ps ? "/" : "") k
              printf "%d of %d connections resumed (%s)", r, n, ps }' "$NGX/reuse.log" 2>/dev/null)
    else
      REUSE="unclear (the probe's nginx did not start)"
      stop_server
    fi
  fi

  echo
  echo "### https: 1 KiB file under wrk over TLS (-t1 -c$CONNS -d${SECS}s; median of $RUNS)"
  echo
  echo "servers ${SPIN[*]:-not pinned}, wrk ${CPIN[*]:-not pinned}; $(nproc) CPUs, $(uname -sr); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///')," \
    "$(openssl version 2>/dev/null | awk '{ print $1, $2 }'); EC P-256 certificate; load average ${LOAD_START:-?} at the start, $(cut -d' ' -f1 /proc/loadavg 2>/dev/null) at the end"
  echo
  echo "| mode | server | requests/s | server CPU µs/request | server CPU busy | wrk socket errors | / nginx |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  declare -A MRPS
  for mode in $MODES; do
    case $mode in keepalive | close) ;; *) continue ;; esac
    for server in "${SERVERS[@]}"; do
      # shellcheck disable=SC2086
      MRPS[$mode,$server]=$(median ${RPS[$mode,$server]:-—})
    done
    for server in "${SERVERS[@]}"; do
      if [ "${AVAIL[$server]:-0}" != 1 ]; then
        echo "| $(mode_label "$mode") | $server | not available | | | | |"
        continue
      fi
      vs_nginx="—"
      [ "$server" != nginx ] && vs_nginx=$(ratio "${MRPS[$mode,$server]}" "${MRPS[$mode,nginx]}")
      # shellcheck disable=SC2086
      busy=$(fixed "$(median ${BUSY[$mode,$server]:-—})" 0)
      num "$busy" && busy="$busy%"
      # shellcheck disable=SC2086
      cost=$(fixed "$(median ${COST[$mode,$server]:-—})" 2)
      # shellcheck disable=SC2086
      errs=$(fixed "$(median ${ERRS[$mode,$server]:-—})" 0)
      echo "| $(mode_label "$mode") | $server | $(thousands "${MRPS[$mode,$server]}") | $cost | $busy | $errs | $vs_nginx |"
    done
  done
  echo
  echo "New connection per request: wrk sends \`Connection: close\` and reconnects after each response, so"
  echo "requests/s = TLS handshakes/s. Server CPU is user + system time of the server's processes (from /proc)"
  echo "during the run; a server well below 100% busy is not what limits the rate (wrk's one thread, which"
  echo "does the client half of every handshake, may be). Socket errors: wrk's connect + read + write + timeout."
  for server in "${SERVERS[@]}"; do
    [ -n "${TLSINFO[$server]:-}" ] || continue
    read -r v c r <<<"${TLSINFO[$server]}"
    echo "$server: $v, $c (Python's ssl client); resumes an offered session: $r."
  done
  echo "wrk's session resumption on reconnect (nginx's \$ssl_session_reused, ${PROBE_SECS} s extra run): $REUSE."
  echo
  echo "| goal | evtool / nginx | target | met |"
  echo "|---|---:|---:|:---:|"
  r=$(ratio "${MRPS[keepalive,evtool]:-—}" "${MRPS[keepalive,nginx]:-—}")
  echo "| HTTPS keep-alive requests/s | $r | ≥ 0.90 | $(met "$r" ">=" 0.90) |"
  r=$(ratio "${MRPS[close,evtool]:-—}" "${MRPS[close,nginx]:-—}")
  echo "| HTTPS handshakes/s (new connection per request) | $r | ≥ 0.90 | $(met "$r" ">=" 0.90) |"
fi

if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  for note in "${NOTES[@]}"; do echo "- $note"; done
fi
echo
echo "Raw results: $RESULTS"
