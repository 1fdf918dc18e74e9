#!/usr/bin/env python3
"""How much error int8 activations add to a quantized matmul, per x block size.

For one weight scheme (bits, group) and x with optional outlier channels, it
prints the relative error ||y_q - y|| / ||y|| of y = x . W^T (float64) for the
weights quantized alone (x exact) and for the weights quantized with x
quantized to int8 per block of 32, 64, 128 and 256 codes, as the
activations=i8 kernels do (docs/QUANTIZER.md). The weights are Gaussian
(f32) and quantized symmetrically with qnt-quantize-weights' clipping search
(qnt_tools.quantize); x rows are Gaussian, with `--outliers`
channels (the same for every row, as LLM hidden states have) scaled by
`--outlier-scale`.

    /usr/bin/python3 scripts/act_block_error.py --bits 4 --group 128 \
        --outliers 8 --outlier-scale 50

It answers one question: is an x block of B codes, next to the weights' own
rounding, a measurable loss? (docs/ACCURACY.md, "x block size".)
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qnt_tools import quantize  # noqa: E402

def quantize_activations(x, block):
    """int8 per block of `block` codes: sx = max|x|/127, xq = round(x/sx)."""
    m, k = x.shape
    blocks = x.astype(np.float32).reshape(m, k // block, block)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    inv = np.where(amax > 0, np.float32(127) / np.maximum(amax, 1e-30), 0)
    q = np.rint(np.clip(blocks * inv, -127, 127))
    return (amax.astype(np.float64) / 127 * q).reshape(m, k)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--group", type=int, default=128, help="0 = per channel")
    p.add_argument("--n", type=int, default=1024, help="weight rows")
    p.add_argument("--k", type=int, default=4096, help="reduction length")
    p.add_argument("--m", type=int, default=64, help="rows of x")
    p.add_argument("--outliers", type=int, default=0,
                   help="channels of x scaled by --outlier-scale")
    p.add_argument("--outlier-scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((args.n, args.k)).astype(np.float32).astype(np.float64)
    x = rng.standard_normal((args.m, args.k))
    if args.outliers:
        cols = rng.choice(args.k, args.outliers, replace=False)
        x[:, cols] *= args.outlier_scale
    y = x @ w.T
    wq = quantize(w.astype(np.float32), args.bits, args.group).astype(np.float64)

    def rel(yq):
        return np.linalg.norm(yq - y) / np.linalg.norm(y)

    base = rel(x @ wq.T)
    print(f"w{args.bits} group {args.group or 'per-channel'}, x {args.m}x{args.k}, "
          f"{args.outliers} outlier channels x{args.outlier_scale:g}")
    print(f"  weights only:          {base:.5f}")
    for block in (32, 64, 128, 256):
        if args.k % block:
            continue
        e = rel(quantize_activations(x, block) @ wq.T)
        xonly = rel(quantize_activations(x, block) @ w.T)
        print(f"  + int8 x, block {block:3d}: {e:.5f} ({100 * (e / base - 1):+.2f}%; "
              f"x rounding alone {xonly:.5f})")


if __name__ == "__main__":
    main()
