#!/usr/bin/env python3
"""Per layer and scheme, what the sensitivity proxies of qnt-assign-bitwidths
say against the model error they stand for, on scripts/mixed_stack.py's stack
(same seed, weights, calibration and evaluation rows, output gains).

  scripts/mixed_stack_diagnose.py D,H OUT.json "LAYER:BITS:GROUP ..."

e.g. `4096,11008 /tmp/diag.json "w2:3:0 w2:3:128"`. Every value is times the
layer's output gain G_l (as in mixed_stack.py's gain statistics), so it
estimates the model's squared relative output error:

  proxy_imp    sum_k E[x_k^2] ||dW_k||^2 with W^ from a clipping search weighted
               by E[x_k^2] (what qnt-assign-bitwidths computed before it used the
               deployed W^)
  proxy_plain  the same on the deployed W^ (clipping search unweighted, as
               qnt-quantize-weights does)
  exact_cal    ||x dW^T||^2 / M over the 16 calibration rows: trace(dW H dW^T)
               for the empirical H, what 'eigen' lines of rank >= 16 give
  exact_eval   the same over the evaluation rows
  exact_big    the same over 256 other rows
  proxy_big    the diagonal proxy with E[x_k^2] over those 256 rows
  true         measured: ||y_q - y||^2 / ||y||^2 on the evaluation rows with
               only this layer quantized (float64 numpy forward pass)

The quantizer is qnt_tools.quantize, a numpy re-implementation of
lib/Support/Quantizer.cpp (symmetric codes, 20 clipping ratios from 1 to
0.5, f32 scales); it can differ from it where float rounding breaks a tie. About 5 s (4096 x 4096) to
45 s (11008 wide) per pair on one core.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mixed_stack as ms  # noqa: E402
from qnt_tools import quantize  # noqa: E402


def main():
    d, h = map(int, sys.argv[1].split(","))
    out = sys.argv[2]
    pairs = [tuple(p.split(":")) for p in sys.argv[3].split()]  # layer:bits:group
    rows = 16
    rng = np.random.default_rng(2026)
    weights, gain = ms.make_weights(rng, d, h)
    calib_x = rng.standard_normal((rows, d)).astype(np.float32)
    eval_x = rng.standard_normal((rows, d)).astype(np.float32)
    cin, ein, bin_ = {}, {}, {}
    ms.forward(weights, gain, calib_x.astype(np.float64), cin)
    gains = ms.output_gains(weights, gain, calib_x.astype(np.float64), rng)
    ref = ms.forward(weights, gain, eval_x.astype(np.float64), ein)
    big_x = np.random.default_rng(7).standard_normal((256, d))
    ms.forward(weights, gain, big_x, bin_)
    yy = np.sum(ref ** 2)
    print("gains", gains, flush=True)
    res = {"gains": gains, "rows": []}
    for name, b, g in pairs:
        b, g = int(b), int(g)
        w = weights[name]
        D = np.mean(cin[name] ** 2, axis=0)
        G = gains[name]
        t0 = time.time()
        wi = quantize(w, b, g, (D * G).astype(np.float32))
        proxy_imp = G * np.sum(D[None, :] * (wi.astype(np.float64) - w) ** 2)
        del wi
        wh = quantize(w, b, g)
        dW = wh.astype(np.float64) - w
        row = dict(layer=name, bits=b, group=g, proxy_imp=proxy_imp,
                   proxy_plain=G * np.sum(D[None, :] * dW ** 2),
                   exact_cal=G * np.sum((cin[name] @ dW.T) ** 2) / rows,
                   exact_eval=G * np.sum((ein[name] @ dW.T) ** 2) / rows,
                   exact_big=G * np.sum((bin_[name] @ dW.T) ** 2) / 256,
                   proxy_big=G * np.sum(np.mean(bin_[name] ** 2, axis=0)[None, :] * dW ** 2))
        del dW
        wq = dict(weights); wq[name] = wh
        y = ms.forward(wq, gain, eval_x.astype(np.float64))
        row["true"] = np.sum((y - ref) ** 2) / yy
        res["rows"].append(row)
        print(" ".join(f"{k}={v:.4e}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
              f"({time.time()-t0:.0f}s)", flush=True)
        json.dump(res, open(out, "w"), indent=1)

main()
