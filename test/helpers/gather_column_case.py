#!/usr/bin/env python3
"""A packed table read by both qnt.matmul and qnt.gather_rows (a classifier
tied to the token embedding), checked against numpy.

`gen` writes an MLIR module whose @main gathers rows of random packed codes
(packed here from docs/BIT_LAYOUT.md, not with qnt's code) at some ids,
including ids outside the table, which are clamped, and multiplies a random
x by the same table, so that with activations=i8 the column kernel's copy of
the codes exists and the gather reads its rows from that copy. It prints the
gathered rows, then the matmul's result (not checked here: the matmul tests
check it). `check` compares the printed rows with scale * (code - zero
point), computed in float32 as the kernels compute it: they must be equal.
With `--mode offset` (GGUF's Q4_1/Q5_1 blocks: unsigned codes, f16 scales
and offsets, value = scale * code + offset) the module has the gather
alone: a matmul takes no offset scheme before qnt-fuse-dequant-matmul.
"""
import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matmul_case import FP4, dense, e2m1_value, fp8_value, pack_rows  # noqa: E402


def gen(a):
    rng = np.random.default_rng(a.seed)
    if a.format != "int":
        return gen_fp4(a, rng)
    n, k, bits, g = a.n, a.k, a.bits, a.group
    signed = a.mode == "symmetric"
    offset = a.mode == "offset"
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    codes[0, :] = lo
    codes[1, :] = hi
    groups = k // g if g else 1
    gran = f"per_group<1, {g}>" if g else "per_channel<0>"
    scales = rng.uniform(0.01, 0.1, size=(n, groups)).astype(np.float32)
    zps = (rng.integers(lo, hi + 1, size=(n, groups)) if not signed and not offset
           else np.zeros((n, groups), dtype=np.int64))
    offsets = np.zeros((n, groups), dtype=np.float32)
    if offset:
        scales = scales.astype(np.float16).astype(np.float32)
        offsets = rng.uniform(-0.5, 0.5, size=(n, groups)).astype(np.float16).astype(np.float32)
    ids = np.array([n - 1, 0, -3, n + 5, 1, n // 2, 17 % n], dtype=np.int32)
    rows = np.clip(ids, 0, n - 1)
    gsize = g if g else k
    ref = np.zeros((len(ids), k), dtype=np.float32)
    for t, r in enumerate(rows):
        for c in range(k):
            ref[t, c] = scales[r, c // gsize] * np.float32(codes[r, c] - zps[r, c // gsize])
            if offset:
                ref[t, c] = np.float32(ref[t, c] + offsets[r, c // gsize])
    np.savez(a.ref, ref=ref)

    packed = pack_rows(np.asarray(codes) & ((1 << bits) - 1), bits).astype(np.int8)
    scheme = f"#qnt.scheme<{'si' if signed else 'ui'}{bits}, {a.mode}, {gran}{', scale = f16' if offset else ''}>"
    if offset:
        write_module(a, rng, packed, scheme,
                     f"dense<{dense(scales)}> : tensor<{n}x{groups}xf16>, "
                     f"offsets = dense<{dense(offsets)}> : tensor<{n}x{groups}xf16>", ids,
                     matmul=False)
        return
    zp = ""
    if not signed:
        zp = f", zero_points = dense<{dense(zps, str)}> : tensor<{n}x{groups}xui8>"
    write_module(a, rng, packed, scheme, f"dense<{dense(scales)}> : tensor<{n}x{groups}xf32>{zp}", ids)


def gen_fp4(a, rng):
    """The same with e2m1 codes and the block scales of --format: each
    value is (scale * 0.5 [* tensor scale]) * (2 * e2m1), in float32, as
    the kernels decode it."""
    n, k, fmt = a.n, a.k, a.format
    g, scale_type = FP4[fmt]
    groups = k // g
    codes = rng.integers(0, 16, size=(n, k))
    codes[0, :] = 15  # -6
    codes[1, :] = 7   # 6
    if fmt == "mxfp4":
        sbytes = rng.integers(118, 131, size=(n, groups))
        scales = 2.0 ** (sbytes - 127.0)
        unit, tail = 0.5, ""
    else:
        sbytes = rng.integers(1, 0x7F, size=(n, groups))
        scales = np.vectorize(lambda c: fp8_value(int(c), "f8E4M3FN"))(sbytes)
        t = float(np.float32(2.0 ** -9 / 3))
        unit, tail = np.float32(0.5) * np.float32(t), f", tensor_scale = {t!r}"
    ids = np.array([n - 1, 0, -3, n + 5, 1, n // 2, 17 % n], dtype=np.int32)
    rows = np.clip(ids, 0, n - 1)
    ref = np.zeros((len(ids), k), dtype=np.float32)
    for t_, r in enumerate(rows):
        for c in range(k):
            s = np.float32(np.float32(scales[r, c // g]) * np.float32(unit))
            ref[t_, c] = s * np.float32(2 * e2m1_value(int(codes[r, c])))
    np.savez(a.ref, ref=ref)
    packed = pack_rows(codes, 4).astype(np.int8)
    scheme = (f"#qnt.scheme<f4E2M1FN, symmetric, per_group<1, {g}>, "
              f"scale = {scale_type}{tail}>")
    write_module(a, rng, packed, scheme,
                 f"dense<{dense(scales)}> : tensor<{n}x{groups}x{scale_type}>", ids)


def write_module(a, rng, packed, scheme, scales_attr, ids, matmul=True):
    """The module; without `matmul` (an offset scheme, see the module
    docstring) @tied gathers alone."""
    n, k = a.n, a.k
    ptype = f"!qnt.packed<{n}x{k}, {scheme}>"
    m = 3
    x = rng.uniform(-1, 1, size=(m, k)).astype(np.float32)
    t = len(ids)
    results = (f"(tensor<?x{n}xf32>, tensor<?x{k}xf32>)" if matmul
               else f"tensor<?x{k}xf32>")
    lines = [
        "func.func private @printMemrefF32(tensor<*xf32>)",
        f"func.func @tied(%x: tensor<?x{k}xf32>, %ids: tensor<?xi32>) -> {results} {{",
        f"  %w = qnt.constant {{codes = dense<{dense(packed, str)}> : tensor<{n}x{packed.shape[1]}xi8>, "
        f"scales = {scales_attr}}} : {ptype}",
    ]
    if matmul:
        lines.append(f"  %y = qnt.matmul %x, %w : (tensor<?x{k}xf32>, {ptype}) -> tensor<?x{n}xf32>")
    lines += [
        f"  %r = qnt.gather_rows %w, %ids : {ptype}, tensor<?xi32> -> tensor<?x{k}xf32>",
        f"  return %y, %r : {results[1:-1]}" if matmul else f"  return %r : {results}",
        "}",
        "func.func @main() {",
        f"  %x = arith.constant dense<{dense(x)}> : tensor<{m}x{k}xf32>",
        f"  %xd = tensor.cast %x : tensor<{m}x{k}xf32> to tensor<?x{k}xf32>",
        f"  %ids = arith.constant dense<{dense(ids, str)}> : tensor<{t}xi32>",
        f"  %idd = tensor.cast %ids : tensor<{t}xi32> to tensor<?xi32>",
        (f"  %y, %r = call @tied(%xd, %idd) : (tensor<?x{k}xf32>, tensor<?xi32>) -> {results}" if matmul
         else f"  %r = call @tied(%xd, %idd) : (tensor<?x{k}xf32>, tensor<?xi32>) -> {results}"),
        f"  %ru = tensor.cast %r : tensor<?x{k}xf32> to tensor<*xf32>",
        "  call @printMemrefF32(%ru) : (tensor<*xf32>) -> ()",
    ]
    if matmul:
        lines += [
            f"  %yu = tensor.cast %y : tensor<?x{n}xf32> to tensor<*xf32>",
            "  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()",
        ]
    lines += ["  return", "}"]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def check(a):
    ref = np.load(a.ref)["ref"]
    text = sys.stdin.read()
    # The first printed memref: the gathered rows.
    body = text.split("data =")[1]
    got = np.array([float(v) for v in re.findall(r"[-+]?(?:nan|inf|[\d.]+(?:e[-+]?\d+)?)", body)],
                   dtype=np.float64)[: ref.size]
    if got.size != ref.size:
        print(f"FAIL: {got.size} values printed, expected {ref.size}")
        return 1
    # printMemrefF32 prints 6 significant digits: compare at that precision.
    want = np.array([float(f"{v:g}") for v in ref.ravel()])
    bad = np.flatnonzero(got != want)
    if bad.size:
        i = int(bad[0])
        print(f"FAIL: {bad.size} rows' values differ; first at flat index {i}: {got[i]} vs {want[i]}")
        return 1
    print(f"PASS {ref.size} gathered values")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--bits", type=int, default=4)
    g.add_argument("--format", choices=["int", "mxfp4", "nvfp4"], default="int")
    g.add_argument("--mode", choices=["symmetric", "asymmetric", "offset"], default="symmetric")
    g.add_argument("--group", type=int, default=32, help="group size; 0 per channel")
    g.add_argument("--n", type=int, default=40)
    g.add_argument("--k", type=int, default=64)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", required=True)
    g.add_argument("--ref", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ref", required=True)
    a = p.parse_args()
    return gen(a) if a.cmd == "gen" else check(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
