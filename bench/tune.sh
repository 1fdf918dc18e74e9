#!/usr/bin/env bash
# Tries qnt-select-kernels options (chunk, rows-per-tile, cols-per-tile) on
# one shape: builds one kernel per option set into one harness and times them
# interleaved with OpenBLAS. Usage: bench/tune.sh [N K] (default 4096 4096).
# Extra harness flags via QNT_TUNE_ARGS (default: --m 1,128 --threads 1,2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QNT_BUILD_DIR:-$ROOT/build-bench}
N=${1:-4096}; K=${2:-4096}
OUT=$BUILD/bench-tune
VARIANTS=${QNT_TUNE_VARIANTS:-"32:4:2 64:4:2 128:4:2 32:1:4 64:1:4 128:1:4 32:8:2 32:4:4 16:6:4 64:2:4"}
SCHEMES=${QNT_TUNE_SCHEMES:-"4:128 8:0"}
specs=()
for s in $SCHEMES; do
  bits=${s%%:*}; group=${s##*:}
  tag=$([ "$group" = 0 ] && echo "w${bits}pc" || echo "w${bits}g$group")
  for v in $VARIANTS; do
    IFS=: read -r c r t <<<"$v"
    specs+=("${tag}_c${c}_r${r}_t${t}:$N:$K:$bits:$group:chunk=$c,rows-per-tile=$r,cols-per-tile=$t")
  done
done
"$ROOT/bench/build.sh" "$OUT" "${specs[@]}" 2> >(grep -v '^note:' >&2)
# shellcheck disable=SC2086
"$OUT/qnt_bench" ${QNT_TUNE_ARGS:---m 1,128 --threads 1,2 --rounds 5 --cold-rounds 7 --no-naive}
