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

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 2
bench_init
read -r -a BOUND <<<"$(bound $((SECS + 30)))"
read -r -a SHORT <<<"$(bound 30)"
WWW="$TMP/www"
NGX="$TMP/nginx"
CERT="$TMP/tls/cert.pem"
KEY="$TMP/tls/key.pem"
# curl verifies the server's certificate against ours (self-signed), so a
# server with another certificate fails.
SCHEME=https
CURL_OPTS=(--cacert "$CERT")
PROBE_TIME=5
CHECK_TIME=5

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
[ "${AVAIL[evtool]:-0}" = 1 ] || NOTES+=("evtool: \`$EVTOOL http serve --tls\` not available (no binary, or it has no such command or option)")
[ "${AVAIL[nginx]:-0}" = 1 ] || NOTES+=("nginx: $NGINX not installed or without http_ssl_module (apt-get install nginx)")
have_clients

# ---- servers ---------------------------------------------------------------
# launch NAME [NGINX_LOG] (start_server's): with NGINX_LOG, nginx logs
# "$ssl_session_reused $ssl_protocol" per request there.
launch() {
  local log="access_log off;"
  case $1 in
    evtool)
      "${SPIN[@]}" "$EVTOOL" http serve "$WWW" --port 0 --bind 127.0.0.1 -q --tls --cert "$CERT" --key "$KEY" \
        >"$TMP/server.out" 2>"$TMP/server.err" & ;;
    nginx)
      [ -n "${2:-}" ] && log="log_format reuse '\$ssl_session_reused \$ssl_protocol'; access_log $2 reuse;"
      start_nginx " ssl" "$log" "ssl_certificate $CERT;" "ssl_certificate_key $KEY;" \
        "ssl_session_cache shared:SSL:1m;" "ssl_protocols TLSv1.2 TLSv1.3;" ;;
  esac
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
open_results https_results.jsonl
SERVERS=(evtool nginx)
declare -A RPS BUSY COST ERRS TLSINFO

# run_wrk MODE [SECONDS] [CONNS] -> "rps non2xx sockerr cpu_s"; 1 if wrk failed.
run_wrk() {
  local rps hdr=()
  [ "$1" = close ] && hdr=(-H 'Connection: close')
  wrk_run "${3:-$CONNS}" "${2:-$SECS}" "${hdr[@]}" "https://127.0.0.1:$SERVER_PORT/1k.bin"
  rps=$(wrk_rps)
  [ "$WRK_RC" -eq 0 ] && num "$rps" || return 1
  echo "$rps $WRK_ERRORS $WRK_CPU"
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
        where="$mode, $server, run $rep"
        if ! ready_server "$server" 1k.bin "$where" "did not start (or not with our certificate)"; then
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
        read -r rps non2xx sockerr cpu <<<"$res"
        if ! end_run $rc "$non2xx"; then
          NOTES+=("$where: $WHY")
          RPS[$mode,$server]+=" fail"
          continue
        fi
        [ "$sockerr" = - ] && sockerr=""
        [ -z "$sockerr" ] || NOTES+=("$where: wrk socket errors: ${sockerr//_/ }")
        errs=0
        [ -z "$sockerr" ] || errs=$(err_total "$sockerr")
        read -r busy cost <<<"$(server_load "$cpu" "$rps")"
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
  echo "$(machine)" \
    "$(openssl version 2>/dev/null | awk '{ print $1, $2 }'); EC P-256 certificate; load average ${LOAD_START:-?} at the start, $(loadavg) at the end"
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
      busy=$(median_fixed 0 ${BUSY[$mode,$server]:-—})
      num "$busy" && busy="$busy%"
      # shellcheck disable=SC2086
      cost=$(median_fixed 2 ${COST[$mode,$server]:-—})
      # shellcheck disable=SC2086
      errs=$(median_fixed 0 ${ERRS[$mode,$server]:-—})
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
  goals_head "evtool / nginx"
  goal_row "HTTPS keep-alive requests/s" "${MRPS[keepalive,evtool]:-—}" "${MRPS[keepalive,nginx]:-—}" ">=" 0.90
  goal_row "HTTPS handshakes/s (new connection per request)" "${MRPS[close,evtool]:-—}" "${MRPS[close,nginx]:-—}" ">=" 1.00
fi

print_notes
