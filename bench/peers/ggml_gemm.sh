#!/usr/bin/env bash
# qnt's int4 g32 kernels (int8 activations, the options quant-compile picks
# for this CPU) and ggml's q4_0 matmul (repacked CPU buffer) at the same
# shapes and M, in turn, hot: the issue's "GEMM at least as fast as ggml".
#
#   bench/peers/ggml_gemm.sh [--rounds R] [--m 16,128] [--threads 1,2] [--shapes N:K,...]
#
# ggml comes from the venv of bench/peers/llama_cpp_peer.py (built first
# when missing); the qnt kernels from bench/build.sh into build/ggml-gemm.
# Prints one line per (round, threads, M, shape) for each: median ms of the
# hot calls and GFLOP/s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/ggml-gemm
ROUNDS=3
MS=16,128
THREADS=1,2
SHAPES=4096:4096,11008:4096,4096:11008
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --m) MS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --shapes) SHAPES=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "ggml_gemm.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
  shift
done
VENV=$ROOT/build/peers-venv
[ -d "$VENV" ] || /usr/bin/python3 "$ROOT/bench/peers/llama_cpp_peer.py" setup
SITE=$(ls -d "$VENV"/lib/python3*/site-packages)
LIB=$SITE/llama_cpp/lib
mkdir -p "$OUT"
clang-22 -O2 "$ROOT/bench/peers/ggml_gemm.c" -I"$SITE/include" -L"$LIB" \
  -lggml -lggml-base -lggml-cpu -Wl,-rpath,"$LIB" -o "$OUT/ggml_gemm"

specs=()
for nk in ${SHAPES//,/ }; do
  n=${nk%:*} k=${nk#*:}
  specs+=("w4g32a8_${n}x${k}:$n:$k:4:32:activations=i8,int-dot=auto")
done
QNT_BUILD_DIR=${QNT_BUILD_DIR:-$ROOT/build} "$ROOT/bench/build.sh" "$OUT/qnt" \
  "${specs[@]}" >/dev/null 2>&1

for r in $(seq "$ROUNDS"); do
  for t in ${THREADS//,/ }; do
    for m in ${MS//,/ }; do
      "$OUT/qnt/qnt_bench" --m "$m" --threads "$t" --no-naive --rounds 5 \
        --cold-rounds 1 --quiet-wait 0 --retries 0 2>/dev/null |
        awk -v r="$r" '$5 == "hot" && $NF ~ /^w4g32a8_/ {
          split($1, nk, "x")
          printf "round=%s peer=qnt N=%s K=%s M=%s threads=%s median_ms=%s gflops=%s\n", r, nk[1], nk[2], $3, $4, $6, $9 }'
      for nk in ${SHAPES//,/ }; do
        "$OUT/ggml_gemm" "${nk%:*}" "${nk#*:}" "$m" "$t" q4_0 9 | sed "s/^/round=$r /"
      done
    done
  done
done
