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
import sys
import tempfile

import numpy as np

from qnt_tools import ROOT, log_softmax, mean_kl, teacher_forced_logits, tool
DEFAULT_SETTINGS = [
    "int8 per-channel=--bits=8 --group=0",
    "int4 g32=--bits=4 --group=32",
    "int4 g32 asym=--bits=4 --group=32 --asymmetric",
    "int3 g32=--bits=3 --group=32",
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default=os.path.join(ROOT, "..", "shared", "models", "stories260K.bin"))
    p.add_argument("--positions", type=int, default=256)
    p.add_argument("--setting", action="append", help="NAME=quant-compile flags")
    a = p.parse_args()
    settings = a.setting or DEFAULT_SETTINGS
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        tool("quant-import", "llama2c", a.checkpoint, "-o", model, "-q")
        float_lib = os.path.join(tmp, "float.so")
        tool("quant-compile", model, "--bits=none", "-o", float_lib, "-q")
        tokens = tool("quant-run", float_lib, "--steps", str(a.positions)).split()
        prompt = " ".join(["1"] + tokens[: a.positions - 1])
        ref = teacher_forced_logits(float_lib, prompt, a.positions)
        ref_lp = log_softmax(ref)
        print(f"| setting | flags | library bytes | top-1 agreement | mean KL(float ‖ q) |")
        print(f"|---|---|---|---|---|")
        size = os.path.getsize(float_lib)
        print(f"| float | --bits=none | {size} | 1.000 | 0 |")
        for s in settings:
            name, flags = s.split("=", 1)
            lib = os.path.join(tmp, name.replace(" ", "_") + ".so")
            tool("quant-compile", model, *flags.split(), "-o", lib, "-q")
            q = teacher_forced_logits(lib, prompt, a.positions)
            top1 = float(np.mean(ref.argmax(1) == q.argmax(1)))
            kl = mean_kl(ref_lp, log_softmax(q))
            print(f"| {name} | {flags} | {os.path.getsize(lib)} | {top1:.3f} | {kl:.4f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
