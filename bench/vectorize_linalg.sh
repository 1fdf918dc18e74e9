#!/usr/bin/env bash
# Time of one decoding step with and without qnt-vectorize-linalg
# (docs/COMPILING.md, "The rest of the function"; the last run is
# bench/results/2026-11-23-vectorize-linalg-zen3.md). Usage:
#   bench/vectorize_linalg.sh MODEL.bin [ROUNDS=7] [STEPS=200] [quant-compile flags...]
# Compiles MODEL twice (--vectorize-linalg=true/false), then runs quant-run
# --time on the two libraries alternately, ROUNDS times each, and prints each
# run's median step time and the median over the rounds.
set -euo pipefail
model=$1; rounds=${2:-7}; steps=${3:-200}; shift $(( $# < 3 ? $# : 3 ))
bin=$(cd "$(dirname "$0")/.." && pwd)/build/bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin/quant-import" llama2c "$model" -o "$tmp/m.mlirbc" -q
for v in true false; do
  "$bin/quant-compile" "$tmp/m.mlirbc" -q -o "$tmp/$v.so" --vectorize-linalg=$v "$@" 2>/dev/null
done
for r in $(seq "$rounds"); do
  for v in true false; do
    "$bin/quant-run" "$tmp/$v.so" --steps "$steps" --time 2>&1 >/dev/null \
      | sed -n "s/.*median \([0-9.]*\) us.*/$v \1/p"
  done
done | tee "$tmp/times" | sed 's/^/run: /' >&2
median() { grep "^$1 " "$tmp/times" | cut -d' ' -f2 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
on=$(median true); off=$(median false)
echo "vectorize-linalg=true: median $on us/step; =false: median $off us/step over $rounds runs each"
awk -v on="$on" -v off="$off" 'BEGIN {printf "speedup (false / true): %.2fx\n", off / on}'
