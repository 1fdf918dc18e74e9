#!/usr/bin/env bash
# GPU check and benchmark of --target=cuda libraries, in three stages, so
# that the compiling and the running can happen on different machines (the
# GPU machine needs only the NVIDIA driver, python3 and numpy):
#
#   bench/gpu.sh prepare DIR   compile everything into DIR (needs qnt built,
#                              ptxas, ../shared/models/stories260K.bin)
#   bench/gpu.sh run DIR OUT   on the GPU: run every library, write OUT
#   bench/gpu.sh check DIR OUT compare OUT with the CPU's outputs in DIR
#   bench/gpu.sh all DIR       the three on one machine
#
# Correctness: stories260K with each weight format (f32, int4 g32, fp8 per
# channel, nf4, mxfp4, nvfp4) compiled for sm_90 (cubin; fp8 with the
# hardware conversions) and, for fp8 and nvfp4, for sm_80 as PTX (the
# portable decoding, compiled by the driver). 64 greedy steps must give the
# tokens and logits (within 1e-4 of the largest) of the CPU library of the
# same codes (--activations=f32: the same math as the GPU's f32 kernels;
# an f32 KV cache on both);
# a 20-token prompt through the prefill entry (the GEMM kernels) must give
# the CPU's greedy tokens.
# Speed: the 110M llama shape of bench/e2e.sh, its matrices' rows repeated
# (make_tiny_llama.py --repeat-rows, so that the libraries compress for the
# trip; the kernels' work does not depend on the values), per format:
# quant-run --time with a 128-token prompt and 128 steps.
# DIR holds a quant-run linked without libLLVM.so, the libraries compressed
# with xz, and the CPU's tokens and logits.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python3}
FORMATS="f32 int4g32 fp8 nf4 mxfp4 nvfp4"
PROMPT="1 403 407 261 378 2 280 282 1 259 384 441 300 327 290 297 265 270 264 300"

usage() { sed -n '2,26p' "$0"; exit "${1:-0}"; }

flags_of() {
  case $1 in
    f32) echo "--bits=none" ;;
    int4g32) echo "--bits=4 --group=32" ;;
    fp8) echo "--format=fp8 --group=0" ;;
    *) echo "--format=$1" ;;
  esac
}

prepare() {
  local dir=$1 bin=$ROOT/build/bin
  mkdir -p "$dir"
  bash "$ROOT/scripts/build.sh" quant-import quant-compile quant-run >/dev/null
  # quant-run with LLVM's Support library linked in (the GPU machine has no
  # libLLVM.so); the libraries it loads need only libcuda.so.1 and libc.
  local b=$ROOT/build
  clang++-22 -fuse-ld=lld \
    "$b/tools/quant-run/CMakeFiles/quant-run.dir/quant-run.cpp.o" \
    "$b/lib/libQntRunner.a" "$b/lib/libQntSupport.a" "$b/lib/libQntAbi.a" \
    /usr/lib/llvm-22/lib/libLLVMSupport.a \
    /usr/lib/llvm-22/lib/libLLVMDemangle.a \
    -lz -l:libzstd.so.1 -ldl -lpthread -o "$dir/quant-run"
  "$bin/quant-import" llama2c "$ROOT/../shared/models/stories260K.bin" \
    -o "$dir/s.mlir" -q
  $PY "$ROOT/scripts/make_tiny_llama.py" "$dir/m110.bin" --dim 768 \
    --hidden 2048 --layers 12 --heads 12 --kv-heads 12 --vocab 32000 \
    --seq 1024 --repeat-rows
  "$bin/quant-import" llama2c "$dir/m110.bin" -o "$dir/m110.mlir" -q
  rm "$dir/m110.bin"
  local f lib
  for f in $FORMATS; do
    echo "gpu.sh: compiling stories260K and 110M, $f" >&2
    # shellcheck disable=SC2046
    "$bin/quant-compile" "$dir/s.mlir" $(flags_of $f) --kv-cache=f32 \
      --target=cuda --chip=sm_90 -o "$dir/s-$f-sm90.so" -q 2>/dev/null
    # shellcheck disable=SC2046
    "$bin/quant-compile" "$dir/s.mlir" $(flags_of $f) --kv-cache=f32 \
      --activations=f32 -o "$dir/cpu-s-$f.so" -q 2>/dev/null
    # shellcheck disable=SC2046
    "$bin/quant-compile" "$dir/m110.mlir" $(flags_of $f) --target=cuda \
      --chip=sm_90 -o "$dir/m110-$f-sm90.so" -q 2>/dev/null
  done
  for f in fp8 nvfp4; do
    # shellcheck disable=SC2046
    "$bin/quant-compile" "$dir/s.mlir" $(flags_of $f) --kv-cache=f32 \
      --target=cuda --chip=sm_80 --gpu-format=ptx -o "$dir/s-$f-sm80.so" \
      -q 2>/dev/null
  done
  for f in $FORMATS; do
    "$bin/quant-run" "$dir/cpu-s-$f.so" --steps 64 \
      --logits "$dir/cpu-s-$f.logits" > "$dir/cpu-s-$f.tokens"
    "$bin/quant-run" "$dir/cpu-s-$f.so" --tokens "$PROMPT" --prefill \
      --steps 16 > "$dir/cpu-s-$f.prefill"
  done
  rm "$dir"/cpu-s-*.so "$dir"/*.mlir
  xz -T0 -6 "$dir"/*.so
  du -sh "$dir" >&2
}

run() {
  local dir=$1 out=$2 lib name
  mkdir -p "$out"
  (nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv \
    || true) > "$out/device.txt" 2>&1
  for lib in "$dir"/*.so.xz; do
    $PY -c 'import lzma, sys
open(sys.argv[2], "wb").write(lzma.open(sys.argv[1]).read())' \
      "$lib" "${lib%.xz}"
  done
  # A library that fails is reported in errors.txt; the others still run.
  for lib in "$dir"/s-*.so; do
    name=$(basename "$lib" .so)
    "$dir/quant-run" "$lib" --steps 64 --logits "$out/$name.logits" \
      > "$out/$name.tokens" 2>> "$out/errors.txt" ||
      echo "$name: decoding failed" >> "$out/errors.txt"
    "$dir/quant-run" "$lib" --tokens "$PROMPT" --prefill --steps 16 \
      > "$out/$name.prefill" 2>> "$out/errors.txt" ||
      echo "$name: prefill failed" >> "$out/errors.txt"
  done
  local tokens
  tokens=$(seq -s ' ' 1 128)
  for lib in "$dir"/m110-*.so; do
    name=$(basename "$lib" .so)
    echo "== $name" >> "$out/time.txt"
    "$dir/quant-run" "$lib" --tokens "$tokens" --prefill --steps 128 --time \
      2>> "$out/time.txt" > /dev/null ||
      echo "$name: timing failed" >> "$out/errors.txt"
  done
  cat "$out/time.txt"
}

check() {
  local dir=$1 out=$2 f arch failed=0 ref=$ROOT/test/helpers/llama2c_ref.py
  for f in $FORMATS; do
    for arch in sm90 sm80; do
      [ -f "$out/s-$f-$arch.tokens" ] || continue
      local r="PASS"
      cmp -s "$dir/cpu-s-$f.tokens" "$out/s-$f-$arch.tokens" || r="FAIL tokens"
      cmp -s "$dir/cpu-s-$f.prefill" "$out/s-$f-$arch.prefill" ||
        r="$r FAIL prefill tokens"
      local logits
      logits=$($PY "$ref" compare "$dir/cpu-s-$f.logits" \
        "$out/s-$f-$arch.logits" --rtol 1e-4 2>&1 | tail -1)
      case $logits in PASS*) ;; *) r="$r FAIL logits" ;; esac
      echo "$f $arch: $r ($logits)"
      case $r in PASS) ;; *) failed=1 ;; esac
    done
  done
  return $failed
}

case ${1:-} in
  prepare) [ $# -eq 2 ] || usage 1; prepare "$2" ;;
  run) [ $# -eq 3 ] || usage 1; run "$2" "$3" ;;
  check) [ $# -eq 3 ] || usage 1; check "$2" "$3" ;;
  all)
    [ $# -eq 2 ] || usage 1
    prepare "$2"; run "$2" "$2/out"; check "$2" "$2/out" ;;
  -h|--help) usage ;;
  *) usage 1 ;;
esac
