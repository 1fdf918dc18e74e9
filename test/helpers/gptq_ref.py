#!/usr/bin/env python3
"""Independent numpy reference for qnt-quantize-weights method=gptq.

  gptq_ref.py make DIR [--bits B] [--group G] [--asym]
      writes DIR/layer.mlir (one linear layer 'proj', W [N, K] random) and
      DIR/hessian.txt (sum x x^T of correlated random inputs X, the format
      quant-compile --calibrate writes), and keeps X in DIR/x.npy.
  gptq_ref.py check DIR RTN.mlir GPTQ.mlir [--bits B] [--group G] [--asym] [--act-order]
      reads the packed codes and scales qnt-quantize-weights wrote, runs GPTQ
      in numpy (Frantar et al.: columns in order, error / U_ii fed forward
      through the upper Cholesky factor U of H^-1, H dampened by 1% of its
      mean diagonal; each group's grid chosen when GPTQ reaches it, by the
      clipping search of docs/QUANTIZER.md on the corrected values; with
      --act-order, columns by decreasing H_kk and grids fixed first) and
      prints whether the codes and scales are identical, and the layer's
      output error ||X (W - W^)^T||^2 on the calibration inputs for both.
"""
import argparse
import os
import re
import sys

import numpy as np

N, K, M = 12, 64, 256


def parse_blobs(path):
    text = open(path).read()
    blobs = {}
    for name, hexdata in re.findall(r'^\s*([\w.]+): "0x([0-9A-Fa-f]+)"', text, re.M):
        blobs[name] = bytes.fromhex(hexdata)[4:]  # after the 4-byte alignment
    return blobs


def unpack(codes, n, k, bits, signed):
    """Codes of docs/BIT_LAYOUT.md: each row packed LSB first, bits per code."""
    row_bytes = (k * bits + 7) // 8
    out = np.zeros((n, k), dtype=np.int64)
    for r in range(n):
        row = codes[r * row_bytes:(r + 1) * row_bytes]
        value = int.from_bytes(row, "little")
        for c in range(k):
            q = (value >> (c * bits)) & ((1 << bits) - 1)
            if signed and q >= 1 << (bits - 1):
                q -= 1 << bits
            out[r, c] = q
    return out


def grid(w, bits, asym):
    """(scale, zero point) of the clipping search on one group (float32 w)."""
    w = w.astype(np.float32)
    qmin, qmax = (0, (1 << bits) - 1) if asym else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    best = None
    for i in range(20):
        r = 1.0 - 0.5 * i / 19
        if asym:
            lo = min(float(w.min()), 0.0); hi = max(float(w.max()), 0.0)
            scale = np.float32(r * (hi - lo) / qmax)
            zp = int(min(max(np.rint(-r * lo / float(scale)), 0), qmax))
        else:
            scale = np.float32(r * float(np.abs(w).max()) / max(qmax, 1)); zp = 0
        q = np.rint(np.clip(w / scale, np.float32(qmin - zp), np.float32(qmax - zp)))
        err = float(np.sum((w.astype(np.float64) - (scale * q).astype(np.float64)) ** 2))
        if best is None or err < best[0]:
            best = (err, scale, zp)
    return best[1], best[2]


def gptq(w, h, bits, group, asym, act_order):
    n, k = w.shape
    g = group or k
    qmin, qmax = (0, (1 << bits) - 1) if asym else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    h = h.copy()
    d = np.diag(h).copy()
    d[d == 0] = 1
    np.fill_diagonal(h, d)
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(k)
    scales = np.zeros((n, k // g), np.float32)
    zps = np.zeros((n, k // g), np.int64)
    if act_order or g == k:
        for r in range(n):
            for j in range(k // g):
                scales[r, j], zps[r, j] = grid(w[r, j * g:(j + 1) * g], bits, asym)
    h = h[perm][:, perm] + 0.01 * np.mean(np.diag(h)) * np.eye(k)
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    v = w.astype(np.float64)[:, perm]
    codes = np.zeros((n, k), np.int64)
    for i in range(k):
        col = perm[i]
        j = col // g
        if not act_order and g < k and col % g == 0:
            for r in range(n):
                scales[r, j], zps[r, j] = grid(v[r, i:i + g].astype(np.float32), bits, asym)
        x = v[:, i].astype(np.float32)
        s = scales[:, j]
        q = np.rint(np.clip(x / s, (qmin - zps[:, j]).astype(np.float32),
                            (qmax - zps[:, j]).astype(np.float32)))
        codes[:, col] = q.astype(np.int64) + zps[:, j]
        err = (v[:, i] - (s * q).astype(np.float64)) / u[i, i]
        v[:, i + 1:] -= np.outer(err, u[i, i + 1:])
    return codes, scales, zps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("dir")
    p.add_argument("files", nargs="*")
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--group", type=int, default=32)
    p.add_argument("--asym", action="store_true")
    p.add_argument("--act-order", action="store_true")
    a = p.parse_args()
    if a.cmd == "make":
        rng = np.random.default_rng(15)
        w = rng.standard_normal((N, K)).astype(np.float32)
        # Correlated inputs with unequal channels, as hidden states have.
        mix = rng.standard_normal((K, K)) * 0.3 + np.eye(K)
        x = (rng.standard_normal((M, K)) @ mix * rng.uniform(0.2, 3.0, K)).astype(np.float32)
        np.save(os.path.join(a.dir, "x.npy"), x)
        np.save(os.path.join(a.dir, "w.npy"), w)
        h = x.astype(np.float64).T @ x.astype(np.float64)
        with open(os.path.join(a.dir, "hessian.txt"), "w") as f:
            f.write("# sum x x^T\nproj %d %s\n" % (K, " ".join("%.17g" % v for v in h.ravel())))
        rows = ", ".join("[" + ", ".join("%.9g" % v for v in row) + "]" for row in w)
        with open(os.path.join(a.dir, "layer.mlir"), "w") as f:
            f.write(f"""#tb = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
func.func @layer(%x: tensor<2x{K}xf32>) -> tensor<2x{N}xf32> {{
  %w = arith.constant dense<[{rows}]> : tensor<{N}x{K}xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x{N}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x{N}xf32>) -> tensor<2x{N}xf32>
  %y = linalg.matmul indexing_maps = #tb ins(%x, %w : tensor<2x{K}xf32>, tensor<{N}x{K}xf32>) outs(%f : tensor<2x{N}xf32>) -> tensor<2x{N}xf32> loc("proj")
  return %y : tensor<2x{N}xf32>
}}
""")
        return
    x = np.load(os.path.join(a.dir, "x.npy")).astype(np.float64)
    w = np.load(os.path.join(a.dir, "w.npy"))
    h = x.T @ x
    codes, scales, zps = gptq(w, h, a.bits, a.group, a.asym, a.act_order)
    g = a.group or K
    errors = {}
    for label, path in (("rtn", a.files[0]), ("gptq", a.files[1])):
        blobs = parse_blobs(path)
        q = unpack(blobs["proj.codes"], N, K, a.bits, not a.asym)
        s = np.frombuffer(blobs["proj.scales"], dtype="<f4").reshape(N, K // g)
        z = (np.frombuffer(blobs["proj.zero_points"], dtype=np.uint8).reshape(N, K // g).astype(np.int64)
             if a.asym else np.zeros((N, K // g), np.int64))
        what = np.repeat(s, g, axis=1).astype(np.float64) * (q - np.repeat(z, g, axis=1))
        errors[label] = float(np.sum((x @ (w.astype(np.float64) - what).T) ** 2))
        if label == "gptq":
            same = np.array_equal(q, codes) and np.array_equal(s, scales) and np.array_equal(z, zps)
            print(f"codes and scales {'identical' if same else 'DIFFERENT'}: "
                  f"{int(np.sum(q != codes))} of {N * K} codes differ, "
                  f"{int(np.sum(s != scales))} of {s.size} scales")
    ratio = errors["gptq"] / errors["rtn"]
    print(f"layer output error on the calibration inputs: gptq / rtn = {ratio:.3f} "
          f"({'below' if ratio < 1 else 'NOT below'} round-to-nearest)")


if __name__ == "__main__":
    main()
