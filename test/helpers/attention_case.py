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
even, as numpy's float16 conversion rounds). With `--cache i4` (`--block` B,
`--window` W) keys and values are stored alike: the positions of the last
blocks (from window_start) as 8-bit rows in a ring of W slots, the older ones
in 4-bit blocks encoded per channel from the window's rows when they leave
it (docs/BIT_LAYOUT.md). The program writes the positions before `--pos`
from a zero cache (qnt.pack_window_rows, qnt.pack_cache_blocks, then the
blocks and the window slots inserted), then the query rows' closed blocks,
and attends with the rows' own window rows as the recent ones; the
reference gives each row the positions before its window start through the
blocks and the rest through the window's read-back values.
"""
import argparse
import re
import sys

import numpy as np

from llama2c_ref import (i8_cache_codes, kivi_dequantize, window_codes,
                         window_start)


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


def kivi_reference(q, k, v, pos, scale, block, window):
    """Attention over an i4 cache: row r (positions 0..n-1 live, n = pos +
    r + 1) sees those before window_start(n) through their blocks, encoded
    from the window's values, and the rest through the window's values."""
    def stored(x):
        codes, s = window_codes(x)
        win = codes * s
        closed = win.copy()
        # Only the blocks that leave the window by the last row are encoded,
        # as in the cache: a later one may hold the NaN rows past the live
        # positions.
        live = min(pos + q.shape[0], x.shape[0])
        for b0 in range(0, window_start(live, block, window), block):
            closed[b0:b0 + block] = kivi_dequantize(win[b0:b0 + block], axis=0)
        return win.astype(np.float64), closed.astype(np.float64)

    (kw, kb), (vw, vb) = stored(k), stored(v)
    out = np.zeros(q.shape)
    for r in range(q.shape[0]):
        n = min(pos + r + 1, k.shape[0])
        w0 = window_start(n, block, window)
        keys = np.concatenate([kb[:w0], kw[w0:n]])
        vals = np.concatenate([vb[:w0], vw[w0:n]])
        out[r:r + 1] = reference(q[r:r + 1].astype(np.float64), keys, vals,
                                 n - 1, scale)
    return out


def kivi_attend(a, scale, qd, ct):
    """The i4 program's @attend body: for keys and for values the write of
    the positions before the rows and the blocks the rows close, then the
    attention."""
    kv, d, s, b, w = a.kv_heads, a.head_size, a.positions, a.block, a.window
    t, p = a.rows, a.pos
    block_bytes = b * d // 2 + 3 * d
    row = d + 2
    wo = s // b * block_bytes
    kt = f"tensor<{kv}x{wo + w * row}xi8>"
    wt = f"tensor<{kv}x{w * row}xi8>"
    dt = f"tensor<{kv}x?xi8>"
    attrs = f"{{block = {b} : i64, window = {w} : i64}}"
    rows = lambda n: f"tensor<{n}x{kv}x{d}xf32>"
    lines = ["  %c0 = arith.constant 0 : index",
             "  %c1 = arith.constant 1 : index"]
    cache = {}

    def insert(x, src, size, src_type, offset):
        # A new version of cache x with `src` (kv x size bytes) at `offset`.
        old, n = cache[x]
        cache[x] = f"%{x}c{n + 1}", n + 1
        lines.append(f"  {cache[x][0]} = tensor.insert_slice {src} into {old}"
                     f"[0, {offset}] [{kv}, {size}] [1, 1] : {src_type} "
                     f"into {kt}")

    def write(x, i, src, at, at_value, count, to_window):
        # Positions at..at+count-1 of cache x (rows `src`): the blocks that
        # leave the window, then (to_window) the window slots of those that
        # stay in it; returns the rows' window bytes.
        r = f"%{x}r{i}"
        lines.extend([
            f"  {r} = qnt.pack_window_rows {src} : {rows(count)} -> {dt}",
            f"  %{x}w{i} = tensor.extract_slice {cache[x][0]}[0, {wo}] "
            f"[{kv}, {w * row}] [1, 1] : {kt} to {wt}",
            f"  %{x}b{i} = qnt.pack_cache_blocks %{x}w{i}, {r}, {at_value} "
            f"{attrs} : {wt}, {dt} -> {dt}",
            f"  %{x}n{i} = tensor.dim %{x}b{i}, %c1 : {dt}",
        ])
        insert(x, f"%{x}b{i}", f"%{x}n{i}", dt,
               window_start(at, b, w) // b * block_bytes)
        if not to_window:
            return r
        # Slot p % W of positions lo..at+count-1, in two parts where the
        # ring wraps.
        lo = max(at, window_start(at + count, b, w))
        first = min(at + count - lo, w - lo % w)
        parts = [((lo - at) * row, first, wo + lo % w * row),
                 ((lo - at + first) * row, at + count - lo - first, wo)]
        for j, (off, n, dst) in enumerate(parts):
            if n > 0:
                part, pt = f"%{x}p{i}{'ab'[j]}", f"tensor<{kv}x{n * row}xi8>"
                lines.append(f"  {part} = tensor.extract_slice {r}[0, {off}] "
                             f"[{kv}, {n * row}] [1, 1] : {dt} to {pt}")
                insert(x, part, n * row, pt, dst)
        return r

    recent = {}
    for x in ("k", "v"):
        cache[x] = f"%{x}c0", 0
        lines.append(f"  %{x}c0 = arith.constant dense<0> : {kt}")
        if p > 0:
            lines.append(f"  %{x}old = tensor.extract_slice %{x}[0, 0, 0] "
                         f"[{p}, {kv}, {d}] [1, 1, 1] : {ct} to {rows(p)}")
            write(x, 0, f"%{x}old", 0, "%c0", p, True)
        lines.append(f"  %{x}new = tensor.extract_slice %{x}[{p}, 0, 0] "
                     f"[{t}, {kv}, {d}] [1, 1, 1] : {ct} to {rows(t)}")
        # The rows' window slots are not written: the attention reads them
        # from the recent rows, and the test ends with it.
        recent[x] = write(x, 1, f"%{x}new", p, "%pos", t, False)
    lines.append(
        f"  %o = qnt.attention %q, {cache['k'][0]}, {cache['v'][0]}, %pos "
        f"recent {recent['k']}, {recent['v']} {{cache = #qnt.cache_format<i4>, "
        f"cache_block = {b} : i64, cache_window = {w} : i64, "
        f"scale = {float(scale)!r} : f32}} : {qd}, {kt}, {kt}, {dt}, {dt} "
        f"-> {qd}")
    return lines


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
        ref = kivi_reference(q, k, v, a.pos, float(scale), a.block,
                             a.window)
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
    g.add_argument("--block", type=int, default=32, help="block of an i4 cache")
    g.add_argument("--window", type=int, default=64,
                   help="window of an i4 cache, a multiple of --block")
    g.add_argument("--out", required=True)
    g.add_argument("--ref", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ref", required=True)
    a = p.parse_args()
    if a.cmd == "gen" and a.cache == "i4":
        if a.window < a.block or a.window % a.block:
            p.error(f"--window {a.window} is not a positive multiple of "
                    f"--block {a.block}")
        if a.positions % a.block or a.pos + a.rows > a.positions:
            p.error("--positions must be a multiple of --block and hold "
                    "--pos + --rows")
    if a.cmd == "gen":
        gen(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
