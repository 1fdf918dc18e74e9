#!/usr/bin/env bash
# Builds the qnt benchmark: quant-opt, one kernel object per layer, the harness.
#
#   bench/build.sh [OUTDIR] [LAYER_SPEC...]
#
# A layer spec is NAME:N:K:BITS:GROUP[:PIPELINE_OPTIONS] (BITS 2, 4 or 8, or
# nf4, lut4, fp8, mxfp4 or nvfp4 for those formats' codes, the last two with
# GROUP 32 and 16, their blocks; GROUP 0 = per channel;
# options as for --qnt-cpu-pipeline, comma-separated, e.g.
# chunk=64,rows-per-tile=4,cols-per-tile=4). Without specs it builds the
# layers of the table. Kernels are cached by spec in OUTDIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QNT_BUILD_DIR:-$ROOT/build-bench}
OUT=${1:-$BUILD/bench}
shift || true
LLVM=/usr/lib/llvm-22
PY=/usr/bin/python3
# Default kernel options of the table (docs/PERFORMANCE.md, "Kernels"):
# those quant-compile picks for this CPU (16-lane chunks on 4x4 tiles with
# AVX-512, 8-lane chunks on 2x4 tiles without).
if grep -qw avx512f /proc/cpuinfo; then HOST_OPTS=activations=f32,chunk=16,rows-per-tile=4,cols-per-tile=4
else HOST_OPTS=activations=f32,chunk=8,rows-per-tile=2,cols-per-tile=4; fi
DEFAULT_OPTS=${QNT_BENCH_OPTS:-$HOST_OPTS}
# activations=i8 kernels (x quantized to int8 at run time; quant-compile
# --activations=i8), with the AVX2 dot products where the CPU has them and the
# tiles quant-compile picks for them (2 weight rows from each of 2 streams),
# and the default x blocks (128 codes for int4 g128, 32 for int8). The a8b32
# kernels quantize x per 32 codes (--act-block=32) for comparison.
INT_DOT=generic; grep -qw avx2 /proc/cpuinfo && INT_DOT=avx2
I8_OPTS=${QNT_BENCH_I8_OPTS:-activations=i8,int-dot=$INT_DOT,rows-per-tile=4,cols-per-tile=2,streams=2}
# The CPU whose #qnt.target chooses the kernels (code generation stays
# -mcpu=native): QNT_BENCH_TARGET=icelake-server on an AMD host times the
# kernels an Intel AVX-512 CPU gets (fp8 through half floats instead of
# lookup = float_bits).
TARGET_CPU=${QNT_BENCH_TARGET:-native}
SPECS=("$@")
if [ ${#SPECS[@]} -eq 0 ]; then
  for nk in 4096:4096 11008:4096 4096:11008; do
    n=${nk%%:*}; k=${nk##*:}
    SPECS+=("w4g128_${n}x${k}:$n:$k:4:128:$DEFAULT_OPTS" "w8pc_${n}x${k}:$n:$k:8:0:$DEFAULT_OPTS"
            "nf4g128_${n}x${k}:$n:$k:nf4:128:$DEFAULT_OPTS" "fp8pc_${n}x${k}:$n:$k:fp8:0:$DEFAULT_OPTS"
            "w4g128a8_${n}x${k}:$n:$k:4:128:$I8_OPTS" "w8pca8_${n}x${k}:$n:$k:8:0:$I8_OPTS"
            "w4g128a8b32_${n}x${k}:$n:$k:4:128:$I8_OPTS,act-block=32")
  done
fi

mkdir -p "$OUT"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=$LLVM/lib/cmake/mlir -DLLVM_EXTERNAL_LIT=$LLVM/bin/lit >/dev/null
fi
# Others edit the tree concurrently: if the rebuild fails, use the last good
# quant-opt rather than nothing.
if ! ninja -C "$BUILD" quant-opt >"$OUT/ninja.log" 2>&1; then
  [ -x "$BUILD/bin/quant-opt" ] || { cat "$OUT/ninja.log" >&2; exit 1; }
  echo "warning: rebuilding quant-opt failed (see $OUT/ninja.log); using the existing $BUILD/bin/quant-opt" >&2
fi
QOPT=$BUILD/bin/quant-opt

# The kernel pipeline. qnt-cpu-pipeline with parallel=true currently fails
# ("memref.alloca_scope op expects region #0 to have 0 or 1 blocks":
# convert-scf-to-openmp wraps each parallel iteration in memref.alloca_scope
# and convert-scf-to-cf then puts several blocks in it). Until the pipeline
# runs canonicalize after convert-scf-to-openmp (which inlines the scope),
# this spells out the same pipeline with that canonicalize added.
explicit_pipeline() { # $1: qnt-select-kernels options, space separated
  echo "builtin.module(qnt-fuse-dequant-matmul,qnt-select-kernels{$1 parallel=true},convert-qnt-to-vector,canonicalize,func.func(convert-elementwise-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,buffer-deallocation-pipeline,convert-qnt-int-dot,func.func(convert-linalg-to-loops),convert-scf-to-openmp,canonicalize,convert-vector-to-scf,lower-affine,convert-scf-to-cf,expand-strided-metadata,canonicalize,convert-vector-to-llvm,finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,convert-openmp-to-llvm,reconcile-unrealized-casts,canonicalize,cse,qnt-drop-decisions)"
}

# BITS of a spec as the code width and gen_layer.py's --format.
split_format() { # bits field -> "bits format"
  case $1 in nf4|lut4|mxfp4|nvfp4) echo "4 $1" ;; fp8) echo "8 fp8" ;; *) echo "$1 int" ;; esac
}

compile_layer() { # spec
  IFS=: read -r name n k bits group opts <<<"$1"
  read -r bits format <<<"$(split_format "$bits")"
  opts=${opts:-$DEFAULT_OPTS}
  local sopts=${opts//,/ }
  local stamp="$OUT/$name.stamp" want="$n $k $bits $format $group $opts $TARGET_CPU opt-O3 $(stat -c %Y "$QOPT")"
  if [ -f "$OUT/$name.o" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  $PY "$ROOT/bench/gen_layer.py" --n "$n" --k "$k" --bits "$bits" --format "$format" --group "$group" \
    --name "$name" --mlir "$OUT/$name.mlir" --bin "$OUT/$name.bin"
  # The kernels are chosen for this machine's #qnt.target, as quant-compile
  # chooses them (the options above fix the rest).
  if ! "$QOPT" "$OUT/$name.mlir" --qnt-set-target=cpu=$TARGET_CPU --qnt-cpu-pipeline="parallel=true $sopts" \
        -o "$OUT/$name.llvm.mlir" 2>"$OUT/$name.err"; then
    echo "note: --qnt-cpu-pipeline failed for $name ($(grep -m1 error "$OUT/$name.err" | cut -c1-120)); using bench/build.sh's explicit pipeline" >&2
    "$QOPT" "$OUT/$name.mlir" --qnt-set-target=cpu=$TARGET_CPU --pass-pipeline="$(explicit_pipeline "$sopts")" -o "$OUT/$name.llvm.mlir"
  fi
  # The same LLVM -O3 IR pipeline quant-compile runs, then code generation.
  $LLVM/bin/mlir-translate --mlir-to-llvmir "$OUT/$name.llvm.mlir" |
    $LLVM/bin/opt -O3 -mcpu=native |
    $LLVM/bin/llc -O3 -mcpu=native -relocation-model=pic -filetype=obj -o "$OUT/$name.o"
  rm -f "$OUT/$name.llvm.mlir" "$OUT/$name.mlir" "$OUT/$name.err"
  echo "$want" >"$stamp"
}

: >"$OUT/kernels.inc.new"
objs=()
for spec in "${SPECS[@]}"; do
  IFS=: read -r name n k bits group opts <<<"$spec"
  read -r bits format <<<"$(split_format "$bits")"
  echo "compiling $name (${n}x${k}, $bits bits, group $group, ${opts:-$DEFAULT_OPTS})" >&2
  compile_layer "$spec"
  # x block of activations=i8 kernels, as qnt-select-kernels picks it
  # (docs/QUANTIZER.md, "Int8 activations"); 0 for f32 activations.
  act8=0; o=",${opts:-$DEFAULT_OPTS},"
  if [[ $o == *",activations=i8,"* ]]; then
    g=$group; [ "$g" = 0 ] && g=$k
    want=0; [[ $o =~ ,act-block=([0-9]+), ]] && want=${BASH_REMATCH[1]}
    act8=32
    if [ "$want" = 0 ]; then
      if [ "$bits" -le 4 ]; then
        for b in 64 128; do [ $((g % b)) = 0 ] && act8=$b; done
      fi
    elif [ $((g % want)) = 0 ]; then
      act8=$want
    fi
  fi
  echo "QNT_KERNEL($name, $n, $k, $bits, $group, \"$format\", \"$OUT/$name.bin\", $act8)" >>"$OUT/kernels.inc.new"
  objs+=("$OUT/$name.o")
done
mv "$OUT/kernels.inc.new" "$OUT/kernels.inc"
printf '%s\n' "${SPECS[@]}" >"$OUT/kernels.txt"
clang++-22 -O2 -march=native -std=c++17 -fopenmp -I"$OUT" -I"$ROOT/bench" -I/usr/include/x86_64-linux-gnu \
  "$ROOT/bench/qnt_bench.cpp" "${objs[@]}" -o "$OUT/qnt_bench" \
  -L$LLVM/lib -Wl,-rpath,$LLVM/lib -lopenblas -lm
echo "built $OUT/qnt_bench" >&2
