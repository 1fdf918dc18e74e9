#!/usr/bin/env python3
"""Accuracy of quantized compilations of a llama2.c model under teacher forcing.

  scripts/eval_accuracy.py [CHECKPOINT] [--positions 256] [--setting NAME=FLAGS ...]

The float model generates POSITIONS tokens greedily from BOS; BOS plus the
first POSITIONS-1 of them are fed to every compiled variant (quant-run
--steps 0 --logits), and each variant's logits are compared at every position
with the float model's: top-1 agreement and mean KL(float || quantized).
Prints a Markdown table. Uses build/bin/quant-{import,compile,run}.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
DEFAULT_SETTINGS = [
    "int8 per-channel=--bits=8 --group=0",
    "int4 g32=--bits=4 --group=32",
    "int4 g32 asym=--bits=4 --group=32 --asymmetric",
    "int3 g32=--bits=3 --group=32",
]


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr}")
    return res.stdout


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default=os.path.join(ROOT, "..", "shared", "models", "stories260K.bin"))
    p.add_argument("--positions", type=int, default=256)
    p.add_argument("--setting", action="append", help="NAME=quant-compile flags")
    a = p.parse_args()
    settings = a.setting or DEFAULT_SETTINGS
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        run([os.path.join(BIN, "quant-import"), "llama2c", a.checkpoint, "-o", model, "-q"])
        float_lib = os.path.join(tmp, "float.so")
        run([os.path.join(BIN, "quant-compile"), model, "--bits=none", "-o", float_lib, "-q"])
        tokens = run([os.path.join(BIN, "quant-run"), float_lib, "--steps", str(a.positions)]).split()
        prompt = " ".join(["1"] + tokens[: a.positions - 1])

        def logits(lib):
            path = lib + ".logits"
            run([os.path.join(BIN, "quant-run"), lib, "--tokens", prompt, "--steps", "0", "--logits", path])
            rows = np.fromfile(path, dtype="<f4")
            return rows.reshape(a.positions, -1).astype(np.float64)

        ref = logits(float_lib)
        p_ref = softmax(ref)
        print(f"| setting | flags | library bytes | top-1 agreement | mean KL(float ‖ q) |")
        print(f"|---|---|---|---|---|")
        size = os.path.getsize(float_lib)
        print(f"| float | --bits=none | {size} | 1.000 | 0 |")
        for s in settings:
            name, flags = s.split("=", 1)
            lib = os.path.join(tmp, name.replace(" ", "_") + ".so")
            run([os.path.join(BIN, "quant-compile"), model, *flags.split(), "-o", lib, "-q"])
            q = logits(lib)
            p_q = softmax(q)
            top1 = float(np.mean(ref.argmax(1) == q.argmax(1)))
            kl = float(np.mean(np.sum(p_ref * (np.log(p_ref + 1e-30) - np.log(p_q + 1e-30)), axis=1)))
            print(f"| {name} | {flags} | {os.path.getsize(lib)} | {top1:.3f} | {kl:.4f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
