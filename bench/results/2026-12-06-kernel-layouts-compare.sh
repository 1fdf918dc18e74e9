#!/bin/bash
# Compiles 9 libraries with the qnt tree ROOT's quant-compile into OUT and
# writes each one's logits (2026-12-06-kernel-layouts-identical.md).
# Usage: 2026-12-06-kernel-layouts-compare.sh ROOT OUT
# Needs the 110M model of bench/e2e.sh (build/e2e/models/110m.mlirbc) in the
# tree this script is in, and ../shared/models/stories260K.bin beside it.
set -euo pipefail
root=$1; out=$2; mkdir -p "$out"
here=$(cd "$(dirname "$0")/../.." && pwd)
m110=$here/build/e2e/models/110m.mlirbc
s260=$out/s260k.mlir
[ -f "$s260" ] || "$here/build/bin/quant-import" llama2c \
  "$here/../shared/models/stories260K.bin" -o "$s260"
while read -r name model flags; do
  # shellcheck disable=SC2086
  "$root/build/bin/quant-compile" "$model" $flags -o "$out/$name.so" \
    > "$out/$name.log" 2>&1
  "$here/build/bin/quant-run" "$out/$name.so" --tokens "1 42 7 300" \
    --steps 6 --threads 2 --logits "$out/$name.logits" > "$out/$name.tokens"
done <<LIST
a4 $m110 --bits=4 --group=32
b4f $m110 --bits=4 --group=32 --activations=f32
c8 $m110 --bits=8
d2 $m110 --bits=2 --group=64
s4 $s260 --bits=4 --group=32
snv $s260 --format=nvfp4
snf $s260 --format=nf4
smx $s260 --format=mxfp4 --activations=f32
s8u $s260 --bits=8 --asymmetric
LIST
