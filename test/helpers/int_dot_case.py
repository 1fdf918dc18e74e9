#!/usr/bin/env python3
"""Writes a program that prints qnt.dot4_i8 of random byte vectors, and the
output numpy expects: `int_dot_case.py OUT.mlir EXPECTED.txt`.

Cases: 32- and 16-byte operands (the AVX2 forms) and 8 bytes (portable
only), `a` unsigned in [0, 15] (4-bit codes) and [0, 127], and signed in
[-128, 127] (8-bit codes, -128 included); `b` in [-127, 127] with both ends.
Then the same sums as qnt.sum_pairs_i16 of qnt.dot2_i8 results added in
i16: one dot product for each kind, and 8 of 4-bit codes (the most an x
block sums in i16), among them the extreme 8 * 2 * 15 * 127 = 30480.
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



def vals(v):
    # Constants hold bytes as i8 (two's complement for a > 127 never occurs).
    return ", ".join(str(int(x)) for x in v)


lines = ["func.func @main() {"]
expected = []
for i, (n, kind, a, b) in enumerate(cases):
    lines.append(f"  %a{i} = arith.constant dense<[{vals(a)}]> : vector<{n}xi8>")
    lines.append(f"  %b{i} = arith.constant dense<[{vals(b)}]> : vector<{n}xi8>")
    signed = " {a_signed}" if kind == "s8" else ""
    lines.append(f"  %s{i} = qnt.dot4_i8 %a{i}, %b{i}{signed} : vector<{n}xi8>, vector<{n}xi8> -> vector<{n // 4}xi32>")
    lines.append(f"  vector.print %s{i} : vector<{n // 4}xi32>")
    sums = (a.astype(np.int64) * b).reshape(-1, 4).sum(axis=1)
    expected.append("( " + ", ".join(str(int(s)) for s in sums) + " )")
# qnt.dot2_i8 chains: (n, kind, [(a, b), ...]) summed in i16, then widened.
chains = []
for n in (32, 16, 8):
    for kind, lo, hi, count in (("u4", 0, 15, 8), ("u7", 0, 127, 1), ("s8", -128, 127, 1)):
        pairs = []
        for j in range(count):
            a = rng.integers(lo, hi + 1, size=n)
            b = rng.integers(-127, 128, size=n)
            # Lane 0: i16 pair sums of +-(2 * hi * 127) that cancel; lane 1:
            # all positive (60960 for 8 dots of 4-bit codes, i16 lanes at 30480).
            a[0:8] = hi
            b[0:4] = [127, 127, -127, -127]
            b[4:8] = 127
            pairs.append((a, b))
        chains.append((n, kind, pairs))

for i, (n, kind, pairs) in enumerate(chains):
    signed = " {a_signed}" if kind == "s8" else ""
    acc = None
    for j, (a, b) in enumerate(pairs):
        lines.append(f"  %ca{i}_{j} = arith.constant dense<[{vals(a)}]> : vector<{n}xi8>")
        lines.append(f"  %cb{i}_{j} = arith.constant dense<[{vals(b)}]> : vector<{n}xi8>")
        lines.append(f"  %cp{i}_{j} = qnt.dot2_i8 %ca{i}_{j}, %cb{i}_{j}{signed} : vector<{n}xi8>, vector<{n}xi8> -> vector<{n // 2}xi16>")
        if acc is None:
            acc = f"%cp{i}_{j}"
        else:
            lines.append(f"  %cs{i}_{j} = arith.addi {acc}, %cp{i}_{j} : vector<{n // 2}xi16>")
            acc = f"%cs{i}_{j}"
    lines.append(f"  %cw{i} = qnt.sum_pairs_i16 {acc} : vector<{n // 2}xi16> -> vector<{n // 4}xi32>")
    lines.append(f"  vector.print %cw{i} : vector<{n // 4}xi32>")
    sums = sum((a.astype(np.int64) * b).reshape(-1, 4).sum(axis=1) for a, b in pairs)
    expected.append("( " + ", ".join(str(int(s)) for s in sums) + " )")
lines += ["  return", "}"]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(lines) + "\n")
with open(sys.argv[2], "w") as f:
    f.write("\n".join(expected) + "\n")
