#!/usr/bin/env bash
# One command for the whole qnt CPU benchmark: builds quant-opt, the fifteen layer
# kernels and the harness (bench/build.sh), then prints the table.
#
#   bench/run.sh [harness flags...]     e.g. bench/run.sh --filter w4g128 --m 1
#
# Output also goes to build-bench/bench/results.txt. See docs/PERFORMANCE.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QNT_BUILD_DIR:-$ROOT/build-bench}
OUT=$BUILD/bench
"$ROOT/bench/build.sh" "$OUT" 2> >(grep -v '^note:\|warning: \|^ *[0-9]* |\|^ *|\|~\|generated\.' >&2)
{
  echo "# $(date -u '+%F %T UTC') $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# kernels (name:N:K:bits:group:options; all parallel=true):"
  sed 's/^/#   /' "$OUT/kernels.txt"
  "$OUT/qnt_bench" "$@"
} | tee "$OUT/results.txt"
