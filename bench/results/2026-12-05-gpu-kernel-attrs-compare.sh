#!/usr/bin/env bash
# Usage: compare.sh BIN_DIR OUT_DIR before|after
# Writes the GPU lowering's outputs (IR, PTX, quant-compile asm/llvm) of several
# configurations to OUT_DIR, to diff a build before and after a change.
set -u
BIN=$1; OUT=$2; MODE=$3
SRC=/work/wt-import
PY=/usr/bin/python3
mkdir -p $OUT/in
if [ "$MODE" = after ]; then PRE="qnt-set-target{gpu=sm_80},qnt-select-kernels,"; POST=",qnt-drop-decisions"; PREF="--qnt-set-target=gpu=sm_80 --qnt-select-kernels"; else PRE=""; POST=""; PREF=""; fi
OPT=$BIN/quant-opt
BUF="one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},gpu-launch-sink-index-computations,gpu-kernel-outlining,symbol-dce"
G=$SRC/test/helpers/matmul_case.py
# generated inputs (deterministic)
$PY $G gen --layer-only --bits 5 --mode asymmetric --group 0 --m 3 --n 7 --k 77 --out $OUT/in/w5.mlir --ref $OUT/in/w5.npz
$PY $G gen --layer-only --bits 4 --mode asymmetric --group 16 --m 20 --n 6 --k 48 --x-type f16 --bias --out $OUT/in/g16.mlir --ref $OUT/in/g16.npz
$PY $G gen --layer-only --bits 8 --group -1 --m 2 --n 6 --k 40 --scale-type bf16 --x-type bf16 --bias --dynamic-m --out $OUT/in/bf16.mlir --ref $OUT/in/bf16.npz
$PY $G gen --layer-only --bits 6 --group 8 --m 12 --n 3 --k 40 --dynamic-m --batch 2 --out $OUT/in/w6.mlir --ref $OUT/in/w6.npz
$PY $G gen --layer-only --format nf4 --group 32 --m 3 --n 64 --k 256 --dynamic-m --out $OUT/in/nf4.mlir --ref $OUT/in/nf4.npz
$PY $G gen --layer-only --format f8E4M3FN --group 0 --m 3 --n 64 --k 256 --dynamic-m --out $OUT/in/fp8.mlir --ref $OUT/in/fp8.npz
$PY $G gen --bits 4 --group 32 --m 5 --n 19 --k 2400 --seed 1 --out $OUT/in/ksteps.mlir --ref $OUT/in/ksteps.npz
$PY $G gen --bits 4 --mode asymmetric --group 0 --m 100 --n 70 --k 1000 --seed 4 --out $OUT/in/gemm.mlir --ref $OUT/in/gemm.npz
$PY $G gen --bits 3 --mode asymmetric --group 0 --m 0 --n 9 --k 1000 --seed 2 --out $OUT/in/rank1.mlir --ref $OUT/in/rank1.npz
$PY $SRC/bench/gen_layer.py --help >/dev/null 2>&1
inputs="$SRC/test/Conversion/QntToGPU/dynamic.mlir $SRC/test/Conversion/QntToGPU/gemm.mlir $SRC/test/Conversion/QntToGPU/gemv.mlir $SRC/test/Conversion/QntToGPU/layout.mlir $SRC/test/Conversion/QntToGPU/loops.mlir $SRC/test/Conversion/QntToGPU/no-float-weights.mlir $SRC/test/Integration/GPU/ptxas.mlir $SRC/test/Integration/GPU/ptx.mlir $OUT/in/w5.mlir $OUT/in/g16.mlir $OUT/in/bf16.mlir $OUT/in/w6.mlir $OUT/in/nf4.mlir $OUT/in/fp8.mlir $OUT/in/ksteps.mlir $OUT/in/gemm.mlir $OUT/in/rank1.mlir"
for f in $inputs; do
  n=$(basename $f .mlir)
  $OPT $f --pass-pipeline="builtin.module(${PRE}convert-qnt-to-gpu${POST})" > $OUT/$n.gpu.mlir 2>&1
  $OPT $f --pass-pipeline="builtin.module(${PRE}convert-qnt-to-gpu{mapping=loops}${POST})" > $OUT/$n.loops.mlir 2>&1
  for chip in sm_80 sm_90; do
    $OPT $f --pass-pipeline="builtin.module(${PRE}convert-qnt-to-gpu,$BUF)" \
      | $OPT --gpu-lower-to-nvvm-pipeline="cubin-chip=$chip cubin-features=+ptx80 cubin-format=isa opt-level=3" \
      | $PY $SRC/test/helpers/ptx_tool.py extract > $OUT/$n.$chip.ptx 2>&1
  done
done
# whole pipelines on the layer-only / main inputs
for n in w5 g16 bf16 w6 nf4 fp8; do
  for chip in sm_80 sm_90; do
    $OPT $OUT/in/$n.mlir --qnt-gpu-pipeline="chip=$chip format=ptx" > $OUT/$n.pipeline.$chip.mlir 2>&1
  done
done
for n in ksteps gemm rank1; do
  $OPT $OUT/in/$n.mlir $PREF --convert-qnt-to-gpu=mapping=loops --qnt-cpu-pipeline > $OUT/$n.loops-cpu.mlir 2>&1
done
$OPT $SRC/test/Pipelines/gpu-pipeline.mlir --qnt-gpu-pipeline="format=ptx" > $OUT/gpu-pipeline.mlir 2>&1
# quant-compile on a tiny llama and the linear layer
$PY $SRC/scripts/make_tiny_llama.py $OUT/in/tiny.bin >/dev/null
$BIN/quant-import llama2c $OUT/in/tiny.bin -o $OUT/in/tiny.mlir -q
for cfg in "none|--bits=none" "int4g32|--bits=4 --group=32" "int8pc|--bits=8 --group=0" "int4asym|--bits=4 --group=64 --asymmetric" "int2g32|--bits=2 --group=32"; do
  name=${cfg%%|*}; flags=${cfg#*|}
  for chip in sm_80 sm_90; do
    $BIN/quant-compile $OUT/in/tiny.mlir $flags --target=cuda --chip=$chip --emit=asm -o $OUT/tiny.$name.$chip.ptx -q > $OUT/tiny.$name.$chip.log 2>&1
  done
  $BIN/quant-compile $OUT/in/tiny.mlir $flags --target=cuda --gpu-format=ptx --emit=llvm -o $OUT/tiny.$name.ll -q > $OUT/tiny.$name.ll.log 2>&1
done
$BIN/quant-compile $SRC/test/tools/quant-compile/Inputs/linear.mlir --bits=4 --group=32 --target=cuda --emit=asm -o $OUT/linear.int4.ptx -q > $OUT/linear.log 2>&1
ls $OUT | wc -l
