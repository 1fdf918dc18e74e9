#!/usr/bin/env bash
# The main job, end to end on a bundled example: quantize the float weights of
# a small MLP to packed int4, fuse dequantization into the matmuls, compile for
# the host CPU, run it, and compare with the float model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh quant-opt >/dev/null

QOPT=build/bin/quant-opt
RUNNER="/usr/lib/llvm-22/bin/mlir-runner -e main -entry-point-result=void -O3 \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so"
model=examples/mlp.mlir
out=build/demo
mkdir -p "$out"

echo "== 1. quantize the weights (int${BITS:-4}, groups of ${GROUP:-32}) and fuse: quant-opt $model --qnt-quantize-weights=\"bits=${BITS:-4} group-size=${GROUP:-32}\" --qnt-fuse-dequant-matmul"
$QOPT "$model" --qnt-quantize-weights="bits=${BITS:-4} group-size=${GROUP:-32}" --qnt-fuse-dequant-matmul \
  --mlir-elide-elementsattrs-if-larger=8 > "$out/mlp.qnt.mlir"
grep -E "qnt\.(constant|matmul)" "$out/mlp.qnt.mlir" | sed -E 's/^ +/  /'

echo "== 2. compile for the host and run: quant-opt --qnt-cpu-pipeline | mlir-runner"
$QOPT "$model" --qnt-quantize-weights="bits=${BITS:-4} group-size=${GROUP:-32}" --qnt-cpu-pipeline \
  | $RUNNER > "$out/int4.txt"
$QOPT "$model" --qnt-cpu-pipeline | $RUNNER > "$out/float.txt"
echo "float model:"; sed -n '2,$p' "$out/float.txt"
echo "int${BITS:-4} model:";  sed -n '2,$p' "$out/int4.txt"

/usr/bin/python3 - "$out/float.txt" "$out/int4.txt" <<'PY'
import re, sys
def values(path):
    text = open(path).read()
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text[text.find("data ="):])]
f, q = values(sys.argv[1]), values(sys.argv[2])
err = max(abs(a - b) for a, b in zip(f, q))
scale = max(abs(a) for a in f)
print(f"== max |float - int4| = {err:.4f} ({100 * err / scale:.2f}% of the largest output)")
PY
