#!/usr/bin/env bash
# Runs every benchmark of benchmarks.list, in its order, each printing its
# Markdown table(s) (README.md says what each measures).
#
#   run_benchmarks.sh BUILD_DIR
#   run_benchmarks.sh --list      the benchmarks, their peers and packages
#
# BENCH_<NAME>=0 skips a benchmark (BENCH_DISPATCH, BENCH_ECHO, BENCH_FORWARD, BENCH_DNS,
# BENCH_ZONE, BENCH_HTTP, BENCH_HTTPS); each script's own variables are described at
# its top (run_dispatch_bench.sh: BENCH_FDS, BENCH_ROUNDS, ...).
set -u

HERE=$(dirname "$0")
LIST="$HERE/benchmarks.list"

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# The rows as name|script|programs|peers|packages, fields trimmed.
benchmarks() {
  local name script programs peers packages
  while IFS='|' read -r name script programs peers packages; do
    [[ $name =~ ^[[:space:]]*(#|$) ]] && continue
    printf '%s|%s|%s|%s|%s\n' "$(trim "$name")" "$(trim "$script")" "$(trim "$programs")" \
      "$(trim "$peers")" "$(trim "$packages")"
  done <"$LIST"
}

if [ "${1:-}" = --list ]; then
  benchmarks | while IFS='|' read -r name script _ peers packages; do
    printf '%-9s %-22s vs %s [%s]\n' "$name" "$script" "$peers" "$packages"
  done
  exit 0
fi
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR | --list" >&2
  exit 2
fi

mapfile -t ROWS < <(benchmarks)
first=1
for row in "${ROWS[@]}"; do
  IFS='|' read -r name script _ <<<"$row"
  skip=BENCH_${name^^}
  [ "${!skip:-1}" = 0 ] && continue
  [ $first = 1 ] || echo
  first=0
  "$HERE/$script" "$1"
done
