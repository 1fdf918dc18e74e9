#!/usr/bin/env python3
"""Every finite code of an fp8 format, or the 16 of NF4 or lut4, through qnt.dequantize.

gen: writes a module whose @main dequantizes one row holding every code once
(scale 1) and prints it; check: reads mlir-runner's output and
compares it with the formats' definitions (matmul_case.py's decoders),
printing PASS or the first mismatch. This is the element-wise decode of the
tables (qnt.dequantize and qnt.gather_rows), apart from the kernels'.
"""
import argparse
import re
import sys

import numpy as np

from matmul_case import NF4_VALUES, fp8_finite_codes, fp8_value, random_codebook

# lut4's table: a drawn codebook (fixed seed), so that no value is NF4's.
LUT4_VALUES = random_codebook(np.random.default_rng(4))


def codes_and_values(fmt):
    if fmt == "nf4":
        return list(range(16)), list(NF4_VALUES)
    if fmt == "lut4":
        return list(range(16)), list(LUT4_VALUES)
    codes = fp8_finite_codes(fmt)
    return codes, [fp8_value(c, fmt) for c in codes]


def gen(args):
    codes, _ = codes_and_values(args.format)
    n = len(codes)
    if args.format in ("nf4", "lut4"):
        packed = [codes[i] | (codes[i + 1] << 4) for i in range(0, n, 2)]
    else:
        packed = codes
    signed = ", ".join(str(c - 256 if c > 127 else c) for c in packed)
    codebook = ""
    if args.format == "lut4":
        codebook = ", codebook = array<f32: " + ", ".join(
            repr(float(v)) for v in LUT4_VALUES) + ">"
    ptype = (f"!qnt.packed<1x{n}, #qnt.scheme<{args.format}, symmetric, "
             f"per_channel<0>{codebook}>>")
    print(f"""func.func @main() {{
  %p = qnt.constant {{codes = dense<[[{signed}]]> : tensor<1x{len(packed)}xi8>, scales = dense<1.0> : tensor<1x1xf32>}} : {ptype}
  %d = qnt.dequantize %p : {ptype} -> tensor<1x{n}xf32>
  %u = tensor.cast %d : tensor<1x{n}xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
func.func private @printMemrefF32(tensor<*xf32>) attributes {{llvm.emit_c_interface}}""")


def check(args):
    _, want = codes_and_values(args.format)
    text = sys.stdin.read()
    if "data =" not in text:
        print("FAIL: no 'data =' in the program output:", text[:200])
        return
    got = [float(v) for v in re.findall(r"[-+]?(?:[0-9]*\.)?[0-9]+(?:e[-+]?[0-9]+)?",
                                        text.split("data =", 1)[1])]
    if len(got) != len(want):
        print(f"FAIL: {len(got)} values printed, {len(want)} codes")
        return
    # printMemrefF32 prints 6 significant digits.
    for i, (g, w) in enumerate(zip(got, want)):
        if abs(g - w) > 1e-5 * abs(w):
            print(f"FAIL: code #{i}: got {g}, want {w}")
            return
    print("PASS")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=["gen", "check"])
    p.add_argument("--format", required=True, choices=["f8E4M3FN", "f8E5M2", "nf4", "lut4"])
    a = p.parse_args()
    gen(a) if a.mode == "gen" else check(a)


if __name__ == "__main__":
    main()
