#!/usr/bin/env bash
# The main job, end to end: import a llama2.c checkpoint, quantize its linear
# layers to packed int4, compile it to a native library, and set it beside the
# float model (and an int8 one): tokens, size, speed and accuracy.
#
#   bash scripts/demo.sh                   # ../shared/models/stories260K.bin if
#                                          # present, else a small model made here
#   MODEL=path/to/model.bin bash scripts/demo.sh   # any llama2.c checkpoint
#   BITS=8 GROUP=0 STEPS=32 bash scripts/demo.sh   # other settings
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh quant-import quant-compile quant-run >/dev/null

out=build/demo
mkdir -p "$out"
model=${MODEL:-}
if [ -z "$model" ] && [ -f ../shared/models/stories260K.bin ]; then
  model=../shared/models/stories260K.bin
fi
if [ -z "$model" ]; then
  model=$out/tiny-llama.bin
  /usr/bin/python3 scripts/make_tiny_llama.py "$model"
  echo "== made a deterministic tiny llama2.c model: $model (set MODEL= for another checkpoint)"
fi
bits=${BITS:-4}
group=${GROUP:-32}
steps=${STEPS:-16}

echo "== quant-import llama2c $model -o $out/model.mlirbc"
build/bin/quant-import llama2c "$model" -o "$out/model.mlirbc"
echo "== quant-compile $out/model.mlirbc --bits=$bits --group=$group -o $out/libmodel.so"
build/bin/quant-compile "$out/model.mlirbc" --bits="$bits" --group="$group" \
  -o "$out/libmodel.so" --header="$out/model.h" 2> >(grep -v "does not divide\|^ \|^\s*\^" >&2)
echo "== quant-compile $out/model.mlirbc --bits=none -o $out/libmodel-float.so (and --bits=8 for comparison)"
build/bin/quant-compile "$out/model.mlirbc" --bits=none -o "$out/libmodel-float.so" -q
build/bin/quant-compile "$out/model.mlirbc" --bits=8 --group="$group" -o "$out/libmodel-int8.so" -q 2>/dev/null
echo "== quant-run $out/libmodel.so --steps $steps"
quantized=$(build/bin/quant-run "$out/libmodel.so" --steps "$steps")
float=$(build/bin/quant-run "$out/libmodel-float.so" --steps "$steps")
echo "int$bits tokens: $quantized"
echo "float tokens: $float"
echo "== the two libraries side by side (scripts/compare_libraries.py)"
/usr/bin/python3 scripts/compare_libraries.py "$out/libmodel-float.so" "$out/libmodel.so" \
  "$out/libmodel-int8.so" --names "float,int$bits g$group,int8 g$group"
