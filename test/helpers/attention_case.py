#!/usr/bin/env python3
"""Generates a qnt.attention test program and checks its output against numpy.

`gen` writes an MLIR module whose @main runs one qnt.attention on random
queries and a random KV cache and prints the result; cache rows that no query
row may see are NaN, so reading one (instead of only the live positions)
turns an output into NaN. It also writes the float64 reference, computed
here with the textbook two-pass softmax. `check` reads mlir-runner's output
on stdin and compares every element.

With `--cache i8` the program first encodes the float cache with
qnt.pack_cache_rows (per position the kv heads' 8-bit codes, a multiplier per
head and an f16 step) and attention reads the packed records; the reference encodes the cache the same
way here (docs/BIT_LAYOUT.md, "KV cache rows") and attends over the decoded
values. With `--cache f16` the cache holds half floats (rounded to nearest
even, as numpy's float16 conversion rounds). With `--cache i4` (KIVI-style,
`--block` B) the program writes the keys of positions before `--pos` with
qnt.pack_key_blocks and qnt.pack_key_window, then those of the query rows
(closing the blocks they fill), packs the values with qnt.pack_cache_rows,
and attends with the rows' keys as recent_keys; the reference gives each
row its own keys: quantized per block and channel where the block is
closed at that row, f16 in the open block (docs/BIT_LAYOUT.md).
"""
import argparse
import re
import sys

import numpy as np

from llama2c_ref import i8_cache_codes, kivi_dequantize


def dense(arr):
    arr = np.asarray(arr)
    if arr.ndim == 0:
        v = float(arr)
        return "0x7FC00000" if np.isnan(v) else repr(v)
    return "[" + ", ".join(dense(a) for a in arr) + "]"


def reference(q, k, v, pos, scale):
    t_rows, heads, _ = q.shape
    s_len, kv_heads, _ = k.shape
    group = heads // kv_heads
    out = np.zeros(q.shape)
    for r in range(t_rows):
        n = min(pos + r + 1, s_len)
        for h in range(heads):
            g = h // group
            s = scale * (k[:n, g, :] @ q[r, h, :])
            p = np.exp(s - s.max())
            p /= p.sum()
            out[r, h, :] = p @ v[:n, g, :]
    return out


def quantize_rows_i8(x):
    """x [S, KvH, D] f32 -> the values an i8 cache's records hold: each
    head's codes times its scale (llama2c_ref.i8_cache_codes)."""
    codes, scale = i8_cache_codes(x)
    return codes.astype(np.float64) * scale.astype(np.float64)


def kivi_reference(q, k, v, pos, scale, block):
    """Attention over an i4 cache: row r sees the blocks closed by position
    pos + r quantized per channel, the rest of its keys rounded to f16."""
    half = k.astype(np.float16).astype(np.float32)
    closed = half.copy()
    for b0 in range(0, k.shape[0] - block + 1, block):
        blk = half[b0:b0 + block]
        if not np.isnan(blk).any():
            closed[b0:b0 + block] = kivi_dequantize(blk, axis=0)
    vq = kivi_dequantize(v, axis=-1)
    out = np.zeros(q.shape)
    for r in range(q.shape[0]):
        n = min(pos + r + 1, k.shape[0])
        end = n // block * block
        keys = np.concatenate([closed[:end], half[end:n]]).astype(np.float64)
        out[r:r + 1] = reference(q[r:r + 1].astype(np.float64), keys,
                                 vq[:n].astype(np.float64), n - 1, scale)
    return out


def kivi_attend(a, scale, qd, ct):
    """The i4 program's @attend body: two key writes, then attention."""
    kv, d, s, b, t, p = a.kv_heads, a.head_size, a.positions, a.block, a.rows, a.pos
    block_bytes = b * d // 2 + 3 * d
    window = s // b * block_bytes
    total = window + 2 * b * d
    kt = f"tensor<{kv}x{total}xi8>"
    wt = f"tensor<{kv}x{2 * b * d}xi8>"
    bt = f"tensor<{kv}x?xi8>"
    vt = f"tensor<{s}x{kv}x{d // 2 + 3}xi8>"
    rows = lambda n: f"tensor<{n}x{kv}x{d}xf32>"
    blk = f"{{block = {b} : i64}}"

    def write(i, src, at, rows_type):
        # The blocks the write closes at block `at // b`, the rest into the
        # window at slot max(at, e) - e (e: the open block after the write).
        e = (at + int(rows_type.split("x")[0].split("<")[1])) // b * b
        slot = max(at, e) - e
        return [
            f"  %w{i} = tensor.extract_slice %kb{i}[0, {window}] [{kv}, {2 * b * d}] [1, 1] : {kt} to {wt}",
            f"  %at{i} = arith.constant {at} : index",
            f"  %b{i} = qnt.pack_key_blocks %w{i}, {src}, %at{i} {blk} : {wt}, {rows_type} -> {bt}",
            f"  %nb{i} = tensor.dim %b{i}, %c1 : {bt}",
            f"  %kc{i} = tensor.insert_slice %b{i} into %kb{i}[0, {at // b * block_bytes}] [{kv}, %nb{i}] [1, 1] : {bt} into {kt}",
            f"  %o{i} = qnt.pack_key_window {src}, %at{i} {blk} : {rows_type} -> {bt}",
            f"  %no{i} = tensor.dim %o{i}, %c1 : {bt}",
            f"  %kb{i + 1} = tensor.insert_slice %o{i} into %kc{i}[0, {window + slot * 2 * d}] [{kv}, %no{i}] [1, 1] : {bt} into {kt}",
        ]
    return [
        "  %c1 = arith.constant 1 : index",
        f"  %kb0 = arith.constant dense<0> : {kt}",
        f"  %old = tensor.extract_slice %k[0, 0, 0] [{p}, {kv}, {d}] [1, 1, 1] : {ct} to {rows(p)}",
        f"  %new = tensor.extract_slice %k[{p}, 0, 0] [{t}, {kv}, {d}] [1, 1, 1] : {ct} to {rows(t)}",
        *write(0, "%old", 0, rows(p)),
        # The attention reads the closed blocks of the second write and the
        # window of the first; the second write's window comes after it.
        f"  %w1 = tensor.extract_slice %kb1[0, {window}] [{kv}, {2 * b * d}] [1, 1] : {kt} to {wt}",
        f"  %b1 = qnt.pack_key_blocks %w1, %new, %pos {blk} : {wt}, {rows(t)} -> {bt}",
        f"  %nb1 = tensor.dim %b1, %c1 : {bt}",
        f"  %kc1 = tensor.insert_slice %b1 into %kb1[0, {p // b * block_bytes}] [{kv}, %nb1] [1, 1] : {bt} into {kt}",
        f"  %vp = qnt.pack_cache_rows %v {{format = #qnt.cache_format<i4>}} : {ct} -> {vt}",
        f"  %recent = tensor.cast %new : {rows(t)} to tensor<?x{kv}x{d}xf32>",
        f"  %o = qnt.attention %q, %kc1, %vp, %pos recent %recent {{cache = #qnt.cache_format<i4>, "
        f"cache_block = {b} : i64, scale = {float(scale)!r} : f32}} : {qd}, {kt}, {vt}, "
        f"tensor<?x{kv}x{d}xf32> -> {qd}",
    ]


def gen(a):
    rng = np.random.default_rng(a.seed)
    q = rng.standard_normal((a.rows, a.heads, a.head_size)).astype(np.float32)
    k = rng.standard_normal((a.positions, a.kv_heads, a.head_size)).astype(np.float32)
    v = rng.standard_normal((a.positions, a.kv_heads, a.head_size)).astype(np.float32)
    # A few large scores, so the running maximum moves between blocks.
    k[rng.integers(0, a.positions, 3)] *= 4
    if a.edge_rows:
        # The ends of a quantized cache's scales: a position of zeros, a
        # head of zeros beside nonzero heads, one head far smaller than the
        # others (small i8 multipliers), and a position so small that its
        # i8 step is f16's smallest subnormal.
        k[1] = 0
        k[::2, 0] = 0
        v[:, -1] *= np.float32(1e-3)
        v[2] *= np.float32(1e-7)
    live = min(a.pos + a.rows, a.positions)
    k[live:] = np.nan
    v[live:] = np.nan
    scale = np.float32(1 / np.sqrt(a.head_size))
    if a.cache == "i4":
        ref = kivi_reference(q, k, v, a.pos, float(scale), a.block)
        kr = vr = None
    elif a.cache == "i8":
        kr, vr = quantize_rows_i8(k), quantize_rows_i8(v)
    elif a.cache == "f16":
        # IEEE half floats, rounded to nearest even as numpy rounds them.
        kr = k.astype(np.float16).astype(np.float64)
        vr = v.astype(np.float16).astype(np.float64)
    else:
        kr, vr = k.astype(np.float64), v.astype(np.float64)
    if kr is not None:
        ref = reference(q.astype(np.float64), kr, vr, a.pos, float(scale))
    np.savez(a.ref, ref=ref)

    h, kv, d, s = a.heads, a.kv_heads, a.head_size, a.positions
    qt = f"tensor<{a.rows}x{h}x{d}xf32>"
    # The function's query rows: dynamic, as quant-compile's prefill entry
    # point has them, or (--static-rows) fixed, as in its decoding step.
    qd = qt if a.static_rows else f"tensor<?x{h}x{d}xf32>"
    ct = f"tensor<{s}x{kv}x{d}xf32>"
    if a.cache == "i4":
        attend = kivi_attend(a, scale, qd, ct)
    elif a.cache != "f32":
        pt = (f"tensor<{s}x{kv * (d + 1) + 2}xi8>" if a.cache == "i8"
              else f"tensor<{s}x{kv}x{d}xf16>")
        fmt = f"#qnt.cache_format<{a.cache}>"
        attend = [
            f"  %kp = qnt.pack_cache_rows %k {{format = {fmt}}} : {ct} -> {pt}",
            f"  %vp = qnt.pack_cache_rows %v {{format = {fmt}}} : {ct} -> {pt}",
            f"  %o = qnt.attention %q, %kp, %vp, %pos {{cache = {fmt}, "
            f"scale = {float(scale)!r} : f32}} : {qd}, {pt}, {pt} -> {qd}",
        ]
    else:
        attend = [
            f"  %o = qnt.attention %q, %k, %v, %pos {{scale = {float(scale)!r} : f32}}"
            f" : {qd}, {ct}, {ct} -> {qd}",
        ]
    lines = [
        "func.func private @printMemrefF32(tensor<*xf32>)",
        f"func.func @attend(%q: {qd}, %k: {ct}, %v: {ct}, %pos: index) -> {qd} {{",
        *attend,
        f"  return %o : {qd}",
        "}",
        "func.func @main() {",
        f"  %q = arith.constant dense<{dense(q)}> : {qt}",
        f"  %k = arith.constant dense<{dense(k)}> : {ct}",
        f"  %v = arith.constant dense<{dense(v)}> : {ct}",
        f"  %qd = tensor.cast %q : {qt} to {qd}" if not a.static_rows
        else f"  %qd = tensor.cast %q : {qt} to {qt}",
        f"  %pos = arith.constant {a.pos} : index",
        f"  %o = call @attend(%qd, %k, %v, %pos) : ({qd}, {ct}, {ct}, index) -> {qd}",
        f"  %u = tensor.cast %o : {qd} to tensor<*xf32>",
        "  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()",
        "  return",
        "}",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def check(a):
    ref = np.load(a.ref)["ref"].ravel()
    text = sys.stdin.read()
    body = text[text.index("data =") :]
    got = np.array([float(x) for x in re.findall(r"[-+]?(?:nan|inf|[\d.]+(?:e[-+]?\d+)?)", body)])
    if got.size != ref.size:
        print(f"FAIL: {got.size} values printed, expected {ref.size}")
        return 1
    if np.isnan(got).any():
        print(f"FAIL: {np.isnan(got).sum()} NaN outputs (a masked cache row was read)")
        return 1
    err = np.abs(got - ref).max()
    # Outputs are convex combinations of values of magnitude ~1-4; f32 sums
    # over at most a few hundred positions and the exp approximation stay
    # far below this.
    if err > 2e-5:
        worst = int(np.abs(got - ref).argmax())
        print(f"FAIL: max error {err:.3g} at flat index {worst}: {got[worst]} vs {ref[worst]}")
        return 1
    print(f"PASS {ref.size} outputs, max error {err:.2g}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--rows", type=int, default=1)
    g.add_argument("--heads", type=int, default=4)
    g.add_argument("--kv-heads", type=int, default=4)
    g.add_argument("--head-size", type=int, default=16)
    g.add_argument("--positions", type=int, default=64)
    g.add_argument("--pos", type=int, default=0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--static-rows", action="store_true",
                   help="the query's row count fixed in the function's type")
    g.add_argument("--cache", choices=["f32", "f16", "i8", "i4"], default="f32")
    g.add_argument("--edge-rows", action="store_true",
                   help="zero and tiny positions and heads in the cache")
    g.add_argument("--block", type=int, default=32, help="key block of an i4 cache")
    g.add_argument("--out", required=True)
    g.add_argument("--ref", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ref", required=True)
    a = p.parse_args()
    if a.cmd == "gen":
        gen(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
