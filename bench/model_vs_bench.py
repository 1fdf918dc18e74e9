#!/usr/bin/env python3
"""Compares the cost model's predicted CPU times with a bench/run.sh table.

  bench/model_vs_bench.py [--results build-bench/bench/results.txt]
                          [--target targets/host-x86_64.target] [--markdown]

The predictions come from the compiler itself: for every (shape, scheme, M)
of the benchmark, `quant-opt --qnt-assign-bitwidths` with that scheme as the
only candidate, `batch=M` and the target file writes its report, whose
`predicted_us` is the model's time (one thread, weights read from memory).
The weights are splat constants: the predicted time does not depend on them.

The model predicts one thread. Compared rows: 1 thread; M = 1 "cold" (weights
from memory, what the model assumes), M = 16 and 128 "hot" (the only mode
measured there; those sizes are compute-bound). Prints one row per case with
the ratio predicted / measured and the bench's `busy` column.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMES = {"int4-g128": "4:128", "int8-pc": "8:0"}


def predict(quant_opt, target, shapes, scheme, m, tmp):
    """predicted_us per shape 'NxK' of `scheme` at M = m."""
    model = os.path.join(tmp, "shapes.mlir")
    with open(model, "w") as f:
        f.write("func.func @f(%x: tensor<1x1xf32>) {\n")
        for i, (n, k) in enumerate(shapes):
            f.write(f"  %w{i} = arith.constant dense<0.5> : tensor<{n}x{k}xf32>\n"
                    f"  %x{i} = tensor.empty() : tensor<1x{k}xf32>\n"
                    f"  %o{i} = tensor.empty() : tensor<1x{n}xf32>\n"
                    f"  %y{i} = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, "
                    f"affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] "
                    f"ins(%x{i}, %w{i} : tensor<1x{k}xf32>, tensor<{n}x{k}xf32>) "
                    f"outs(%o{i} : tensor<1x{n}xf32>) -> tensor<1x{n}xf32> loc(\"{n}x{k}\")\n")
        f.write("  return\n}\n")
    report = os.path.join(tmp, "report.json")
    opts = f"budget=avg-bits:64 candidates={scheme} batch={m} target={target} report={report}"
    subprocess.run([quant_opt, model, f"--qnt-assign-bitwidths={opts}", "-o", os.devnull], check=True)
    with open(report) as f:
        return {l["name"]: l["predicted_us"] for l in json.load(f)["layers"]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=os.path.join(ROOT, "build-bench", "bench", "results.txt"))
    p.add_argument("--target", default=os.path.join(ROOT, "targets", "host-x86_64.target"))
    p.add_argument("--quant-opt", default=os.path.join(ROOT, "build", "bin", "quant-opt"))
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--exclude", default="a8",
                   help="skip kernels whose name contains this (default: the activations=i8 "
                        "kernels, which the cost model does not describe)")
    a = p.parse_args()
    rows = []
    with open(a.results) as f:
        for line in f:
            w = line.split()
            # shape scheme M thr mode qnt_ms ... busy% kernel (bw% only for M=1)
            if len(w) < 13 or not w[0].replace("x", "").isdigit() or not w[2].isdigit():
                continue
            if a.exclude and a.exclude in w[-1]:
                continue
            rows.append({"shape": w[0], "scheme": w[1], "m": int(w[2]), "thr": int(w[3]), "mode": w[4],
                         "ms": float(w[5]), "busy": w[-2]})
    cases = [r for r in rows if r["thr"] == 1 and r["mode"] == ("cold" if r["m"] == 1 else "hot")]
    shapes = sorted({tuple(map(int, r["shape"].split("x"))) for r in cases})
    with tempfile.TemporaryDirectory() as tmp:
        preds = {(s, m): predict(a.quant_opt, a.target, shapes, SCHEMES[s], m, tmp)
                 for s in sorted({r["scheme"] for r in cases}) for m in sorted({r["m"] for r in cases})}
    within = 0
    if a.markdown:
        print("| shape | scheme | M | measured (1 thread) | predicted ms | measured ms | predicted / measured | busy |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        print(f"{'shape':12} {'scheme':10} {'M':>4} {'mode':5} {'pred_ms':>9} {'meas_ms':>9} {'ratio':>6} {'busy':>5}")
    for r in cases:
        pred = preds[(r["scheme"], r["m"])][r["shape"]] / 1e3
        ratio = pred / r["ms"]
        ok = abs(ratio - 1) <= 0.25
        within += ok
        mark = "" if ok else " *"
        if a.markdown:
            print(f"| {r['shape']} | {r['scheme']} | {r['m']} | {r['mode']} | {pred:.3f} | {r['ms']:.3f} | "
                  f"{ratio:.2f}{mark} | {r['busy']} |")
        else:
            print(f"{r['shape']:12} {r['scheme']:10} {r['m']:4} {r['mode']:5} {pred:9.3f} {r['ms']:9.3f} "
                  f"{ratio:6.2f} {r['busy']:>5}{mark}")
    print(f"\n{within} of {len(cases)} cases within +-25% (* = outside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
