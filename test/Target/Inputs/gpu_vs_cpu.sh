#!/usr/bin/env bash
# gpu_vs_cpu.sh DIR MODEL.mlir "PYTHON LLAMA2C_REF.py" NAME "FLAGS" CHIP
#               GPU_FORMAT
# Compiles MODEL with FLAGS for the GPU (CHIP, GPU_FORMAT) and for the CPU
# (f32 activations: the same codes and the same math; an f32 KV cache on
# both, so that no f16 rounding of a cache entry can flip) and
# fails unless both give the same greedy tokens and logits (within 1e-4 of
# the largest) over 32 steps, and the same tokens after a 20-token prompt
# fed through the prefill entry.
set -euo pipefail
dir=$1 model=$2 ref=$3 name=$4 flags=$5 chip=$6 format=$7
prompt="1 403 407 261 378 2 280 282 1 259 384 441 300 327 290 297 265 270 264 300"
gpu=$dir/$name-$chip cpu=$dir/$name-cpu
# shellcheck disable=SC2086
quant-compile "$model" $flags --kv-cache=f32 --target=cuda --chip="$chip" \
  --gpu-format="$format" -o "$gpu.so" -q 2>/dev/null
# shellcheck disable=SC2086
[ -f "$cpu.so" ] || quant-compile "$model" $flags --kv-cache=f32 \
  --activations=f32 -o "$cpu.so" -q 2>/dev/null
for lib in "$gpu" "$cpu"; do
  quant-run "$lib.so" --steps 32 --logits "$lib.logits" > "$lib.tokens"
  quant-run "$lib.so" --tokens "$prompt" --prefill --steps 8 > "$lib.prefill"
done
diff "$cpu.tokens" "$gpu.tokens"
diff "$cpu.prefill" "$gpu.prefill"
$ref compare "$cpu.logits" "$gpu.logits" --rtol 1e-4
