#!/usr/bin/env python3
"""Writes a program that prints qnt.dot4_i8 of random byte vectors, and the
output numpy expects: `int_dot_case.py OUT.mlir EXPECTED.txt`.

Cases: 32- and 16-byte operands (the AVX2 forms) and 8 bytes (portable
only), `a` unsigned in [0, 15] (4-bit codes) and [0, 127], and signed in
[-128, 127] (8-bit codes, -128 included); `b` in [-127, 127] with both ends.
"""
import sys

import numpy as np

rng = np.random.default_rng(7)
cases = []
for n in (32, 16, 8):
    for kind, lo, hi in (("u4", 0, 15), ("u7", 0, 127), ("s8", -128, 127)):
        a = rng.integers(lo, hi + 1, size=n)
        a[0], a[1] = lo, hi
        b = rng.integers(-127, 128, size=n)
        b[0], b[1], b[2] = -127, 127, -127
        cases.append((n, kind, a, b))

lines = ["func.func @main() {"]
expected = []
for i, (n, kind, a, b) in enumerate(cases):
    # Constants hold bytes as i8 (two's complement for a > 127 never occurs).
    vals = lambda v: ", ".join(str(int(x)) for x in v)
    lines.append(f"  %a{i} = arith.constant dense<[{vals(a)}]> : vector<{n}xi8>")
    lines.append(f"  %b{i} = arith.constant dense<[{vals(b)}]> : vector<{n}xi8>")
    signed = " {a_signed}" if kind == "s8" else ""
    lines.append(f"  %s{i} = qnt.dot4_i8 %a{i}, %b{i}{signed} : vector<{n}xi8>, vector<{n}xi8> -> vector<{n // 4}xi32>")
    lines.append(f"  vector.print %s{i} : vector<{n // 4}xi32>")
    sums = (a.astype(np.int64) * b).reshape(-1, 4).sum(axis=1)
    expected.append("( " + ", ".join(str(int(s)) for s in sums) + " )")
lines += ["  return", "}"]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(lines) + "\n")
with open(sys.argv[2], "w") as f:
    f.write("\n".join(expected) + "\n")
