#!/usr/bin/env bash
# The dispatch benchmark (README.md): libevent's test/bench.c workload on
# our engine (each backend), libevent and libev, as one Markdown table.
#
#   run_dispatch_bench.sh BUILD_DIR
#
# Environment (defaults in brackets):
#   BENCH_FDS      socketpair counts, one table row each ["100 1000 9900"]
#   BENCH_ACTIVE   active pairs per round [100]
#   BENCH_WRITES   forwarded writes per round [1000]
#   BENCH_ROUNDS   rounds; the median is reported [25]
#   BENCH_TIMEOUT  seconds allowed per run [120]
#   BENCH_CPU      CPU to pin each run to with taskset, "" for none [1]
#   BENCH_SELECT_ALL=1  also run libevent's select when 2N fds pass
#                  FD_SETSIZE (it then aborts in glibc's fortified FD_SET;
#                  ours sizes its sets to the highest fd and runs anyway)
# Raw results (one JSON line per run) go to
# BUILD_DIR/tests/bench/dispatch_results.jsonl.
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BIN="$1/tests/bench"
FDS_LIST=${BENCH_FDS:-"100 1000 9900"}
ACTIVE=${BENCH_ACTIVE:-100}
WRITES=${BENCH_WRITES:-1000}
ROUNDS=${BENCH_ROUNDS:-25}
TIMEOUT=${BENCH_TIMEOUT:-120}
CPU=${BENCH_CPU-1}
SELECT_ALL=${BENCH_SELECT_ALL:-0}
FD_SETSIZE=1024

PIN=()
if [ -n "$CPU" ] && command -v taskset >/dev/null 2>&1 && taskset -c "$CPU" true 2>/dev/null; then
  PIN=(taskset -c "$CPU")
fi
BOUND=()
if command -v timeout >/dev/null 2>&1; then
  BOUND=(timeout "$TIMEOUT")
fi

# Each column: "label|environment for env(1)|program and arguments". The
# EVENT_NO* variables pick libevent's backend; ours honours them too, so they
# are cleared for every run that does not set them on purpose.
CLEAN_ENV="-u EVENT_NOEPOLL -u EVENT_NOPOLL -u EVENT_NOSELECT -u EVENT_SHOW_METHOD -u EVENT_EPOLL_USE_CHANGELIST -u LIBEV_FLAGS"
COLUMNS=(
  "floor||dispatch_floor"
  "evtool epoll||dispatch_evtool --backend epoll"
  "evtool epoll+changelist||dispatch_evtool --backend epoll --changelist"
  "evtool poll||dispatch_evtool --backend poll"
  "evtool select||dispatch_evtool --backend select"
  "libevent epoll||dispatch_libevent"
  "libevent epoll+changelist|EVENT_EPOLL_USE_CHANGELIST=1|dispatch_libevent"
  "libevent poll|EVENT_NOEPOLL=1|dispatch_libevent"
  "libevent select|EVENT_NOEPOLL=1 EVENT_NOPOLL=1|dispatch_libevent"
  "libev||dispatch_libev"
)

RESULTS="$BIN/dispatch_results.jsonl"
: >"$RESULTS"
declare -A MEDIAN ENGINE
NOTES=()
SELECT_SKIPPED=0

json_field() {  # json_field LINE KEY -> value (numbers and plain strings only)
  printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

for n in $FDS_LIST; do
  for i in "${!COLUMNS[@]}"; do
    IFS='|' read -r label envs cmd <<<"${COLUMNS[$i]}"
    read -r prog args <<<"$cmd"
    if [ ! -x "$BIN/$prog" ]; then
      MEDIAN[$n,$i]="—"
      continue
    fi
    if [ "$label" = "libevent select" ] && [ "$SELECT_ALL" != 1 ] && [ $((2 * n + 16)) -gt $FD_SETSIZE ]; then
      MEDIAN[$n,$i]="n/a¹"
      SELECT_SKIPPED=1
      continue
    fi
    echo "dispatch: $label, $n fds ..." >&2
    errfile=$(mktemp)
    # shellcheck disable=SC2086  # word splitting of envs/args is intended
    out=$(env $CLEAN_ENV $envs "${BOUND[@]}" "${PIN[@]}" "$BIN/$prog" $args \
            --fds "$n" --active "$ACTIVE" --writes "$WRITES" --rounds "$ROUNDS" 2>"$errfile")
    rc=$?
    if [ $rc -eq 0 ] && [ -n "$out" ]; then
      printf '%s\n' "$out" >>"$RESULTS"
      MEDIAN[$n,$i]=$(json_field "$out" median_us)
      ENGINE[$n,$i]=$(json_field "$out" engine)
    else
      if [ $rc -eq 124 ]; then MEDIAN[$n,$i]="timeout"; else MEDIAN[$n,$i]="fail"; fi
      NOTES+=("$label, $n fds: exit $rc: $(head -c 300 "$errfile" | tr '\n' ' ')")
    fi
    rm -f "$errfile"
  done
done

# ours / best peer on epoll (libevent epoll, libev default backend).
ratio() {
  local ours=$1 a=$2 b=$3 best=""
  for v in "$a" "$b"; do
    [[ $v =~ ^[0-9.]+$ ]] || continue
    if [ -z "$best" ] || awk -v x="$v" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$v; fi
  done
  if [[ $ours =~ ^[0-9.]+$ ]] && [ -n "$best" ]; then
    awk -v x="$ours" -v y="$best" 'BEGIN { printf "%.2f", x / y }'
  else
    echo "—"
  fi
}

echo
echo "### dispatch (libevent test/bench.c): median µs per round"
echo
echo "A=$ACTIVE active, W=$WRITES writes, R=$ROUNDS rounds; ${PIN[*]:-not pinned}; $(nproc) CPUs, $(uname -sr)"
echo
header="| N |"
rule="|---:|"
for i in "${!COLUMNS[@]}"; do
  IFS='|' read -r label _ _ <<<"${COLUMNS[$i]}"
  header+=" $label |"
  rule+="---:|"
done
echo "$header our epoll / floor | our epoll / min(libevent epoll, libev) |"
echo "$rule---:|---:|"
floor=0 ours=1 libevent_epoll=5 libev=9
for n in $FDS_LIST; do
  row="| $n |"
  for i in "${!COLUMNS[@]}"; do
    IFS='|' read -r label _ _ <<<"${COLUMNS[$i]}"
    cell=${MEDIAN[$n,$i]}
    # Say so when a run used another backend than its column names.
    engine=${ENGINE[$n,$i]:-}
    expect="${label// /-}"
    expect="${expect/+changelist/-changelist}"
    if [ -n "$engine" ] && [ "$i" -ne "$libev" ] && [ "$i" -ne "$floor" ] && [ "$engine" != "$expect" ]; then cell+=" ($engine)"; fi
    if [ "$i" -eq "$libev" ] && [ -n "$engine" ]; then cell+=" (${engine#libev-})"; fi
    row+=" $cell |"
  done
  row+=" $(ratio "${MEDIAN[$n,$ours]}" "${MEDIAN[$n,$floor]}" "") |"
  row+=" $(ratio "${MEDIAN[$n,$ours]}" "${MEDIAN[$n,$libevent_epoll]}" "${MEDIAN[$n,$libev]}") |"
  echo "$row"
done
echo
echo "floor: dispatch_floor.cpp, the same rounds with no loop: each fd registered once with epoll, an iteration is one epoll_wait(2) calling the harness per ready fd."
if [ "$SELECT_SKIPPED" = 1 ] || [ ${#NOTES[@]} -gt 0 ]; then echo; fi
if [ "$SELECT_SKIPPED" = 1 ]; then
  echo "¹ not run: N pairs need 2N descriptors, and libevent's select aborts (glibc's fortified FD_SET) on fds >= FD_SETSIZE ($FD_SETSIZE); BENCH_SELECT_ALL=1 tries anyway."
fi
for note in "${NOTES[@]}"; do echo "- $note"; done
echo
echo "Raw results: $RESULTS"
