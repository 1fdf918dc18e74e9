#!/usr/bin/env python3
"""Independent numpy check of qnt-assign-bitwidths' sensitivity with
calibration statistics that have 'eigen' lines (docs/COST_MODEL.md).

  sensitivity_ref.py WORKDIR [--quant-opt PATH]

Writes a model with one linear layer `fc` (24 x 96 random weights) and input
rows x [200, 96] that are a mean, a rank-3 signal and a little noise, so that
the top directions of H = E[x x^T] carry nearly all its energy. For each
statistics file (E[x_k^2] only; + the top 1 / 4 eigenpairs of H; + all 96)
and each 8-bit candidate (per channel, groups of 32), it runs
`quant-opt --qnt-assign-bitwidths="candidates=C report=..." --qnt-quantize-weights`,
decodes the int8 codes and f32 scales of the quantized weight from the
output IR (W^ = scale * code), and computes in numpy

  trace(dW H_r dW^T),  H_r = diag(E[x_k^2] - sum_i l_i u_ik^2) + sum_i l_i u_i u_i^T

with dW = W - W^ (and, for all 96 directions, the mean of ||dW x||^2 over
the rows, since H_96 = H). Prints PASS/FAIL per case; exit 1 if the
report's sensitivity differs by more than 1e-5 relative.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np


def blob(arr):
    return "0x" + struct.pack("<I", 64).hex() + np.ascontiguousarray(arr, dtype="<f4").tobytes().hex()


def resource(text, name, dtype):
    hexdata = re.search(name.replace(".", r"\.") + r': "0x([0-9A-Fa-f]+)"', text).group(1)
    return np.frombuffer(bytes.fromhex(hexdata)[4:], dtype=dtype)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workdir")
    p.add_argument("--quant-opt", default=shutil.which("quant-opt") or "quant-opt")
    a = p.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    rng = np.random.default_rng(11)
    n, k, m = 24, 96, 200
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    basis = rng.standard_normal((3, k))
    x = (1.5 + rng.standard_normal((m, 3)) @ basis * 2.0 + 0.1 * rng.standard_normal((m, k)))
    h = x.T @ x / m
    lam, vec = np.linalg.eigh(h)
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]

    model = os.path.join(a.workdir, "model.mlir")
    with open(model, "w") as f:
        f.write(f"""func.func @f(%x: tensor<1x{k}xf32>, %o: tensor<1x{n}xf32>) -> tensor<1x{n}xf32> {{
  %w = arith.constant dense_resource<fc> : tensor<{n}x{k}xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %w : tensor<1x{k}xf32>, tensor<{n}x{k}xf32>) outs(%o : tensor<1x{n}xf32>) -> tensor<1x{n}xf32> loc("fc")
  return %y : tensor<1x{n}xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      fc: "{blob(w)}"
    }}
  }}
#-}}
""")
    ok = True
    diag = np.mean(x ** 2, axis=0)
    for rank in (0, 1, 4, k):
        stats = os.path.join(a.workdir, f"stats-r{rank}.txt")
        with open(stats, "w") as f:
            f.write("fc " + " ".join(f"{v:.9g}" for v in diag) + "\n")
            for i in range(rank):
                f.write(f"fc eigen {lam[i]:.9g} " + " ".join(f"{v:.9g}" for v in vec[:, i]) + "\n")
        # H as the pass reads it: residual diagonal plus the directions.
        hr = np.diag(np.maximum(diag - (vec[:, :rank] ** 2) @ lam[:rank], 0.0))
        hr += (vec[:, :rank] * lam[:rank]) @ vec[:, :rank].T
        for group in (0, 32):
            report = os.path.join(a.workdir, f"report-r{rank}-g{group}.json")
            res = subprocess.run([a.quant_opt, model, "--qnt-assign-bitwidths=candidates=8:"
                                  f"{group} budget=avg-bits:16 calibration={stats} report={report}",
                                  "--qnt-quantize-weights"], capture_output=True, text=True)
            if res.returncode != 0:
                sys.exit(res.stderr)
            codes = resource(res.stdout, "fc.codes", np.int8).reshape(n, k).astype(np.float64)
            scales = resource(res.stdout, "fc.scales", "<f4").reshape(n, -1).astype(np.float64)
            w_hat = (np.repeat(scales, k // scales.shape[1], axis=1) * codes).astype(np.float32)
            dw = w.astype(np.float64) - w_hat.astype(np.float64)
            expected = float(np.sum((dw @ hr) * dw))
            with open(report) as f:
                got = json.load(f)["layers"][0]["sensitivity"]
            rel = abs(got - expected) / expected
            case_ok = rel <= 1e-5
            line = (f"rank {rank} group {group}: sensitivity {got:.6e}, numpy trace(dW H dW^T) {expected:.6e}, "
                    f"relative difference {rel:.1e}")
            if rank == k:
                empirical = float(np.mean(np.sum((x @ dw.T) ** 2, axis=1)))
                erel = abs(got - empirical) / empirical
                case_ok = case_ok and erel <= 1e-5
                line += f"; mean ||dW x||^2 over the rows {empirical:.6e} ({erel:.1e})"
            if rank:
                line += f"; diagonal proxy {np.sum(diag * dw ** 2):.6e}"
            print(("PASS " if case_ok else "FAIL ") + line)
            ok = ok and case_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
