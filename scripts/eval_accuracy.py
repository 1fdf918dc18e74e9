#!/usr/bin/env python3
"""Accuracy of quantized compilations of a llama2.c model under teacher forcing.

  scripts/eval_accuracy.py [CHECKPOINT] [--positions 256] [--sequences 1] [--setting NAME=FLAGS ...]

The float model generates POSITIONS tokens greedily from BOS; BOS plus the
first POSITIONS-1 of them are fed to every compiled variant (quant-run
--steps 0 --logits), and each variant's logits are compared at every position
with the float model's: top-1 agreement and mean KL(float || quantized).
With --sequences N > 1, sequences 2 .. N start from BOS and a second token
(SECOND_TOKENS, in order) instead, and the table gives the means over the N
sequences and the largest sequence's KL: on a model as small as stories260K
one sequence's KL moves by tens of percent with which codes round which
way. Prints a Markdown table. Uses build/bin/quant-{import,compile,run}.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

from qnt_tools import ROOT, log_softmax, mean_kl, teacher_forced_logits, tool
# The second tokens of sequences 2, 3, ... (--sequences).
SECOND_TOKENS = [300, 42, 500, 7, 100, 2, 77]
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
    p.add_argument("--sequences", type=int, default=1,
                   help=f"sequences to average over, 1 to {1 + len(SECOND_TOKENS)}")
    p.add_argument("--setting", action="append", help="NAME=quant-compile flags")
    a = p.parse_args()
    if not 1 <= a.sequences <= 1 + len(SECOND_TOKENS):
        p.error(f"--sequences {a.sequences} must be 1 to {1 + len(SECOND_TOKENS)}")
    if a.positions < 2:
        p.error(f"--positions {a.positions} must be at least 2")
    settings = a.setting or DEFAULT_SETTINGS
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        tool("quant-import", "llama2c", a.checkpoint, "-o", model, "-q")
        float_lib = os.path.join(tmp, "float.so")
        tool("quant-compile", model, "--bits=none", "-o", float_lib, "-q")
        prompts, refs = [], []
        for i in range(a.sequences):
            start = ["1"] if i == 0 else ["1", str(SECOND_TOKENS[i - 1])]
            tokens = tool("quant-run", float_lib, "--tokens", " ".join(start), "--steps",
                          str(a.positions - len(start) + 1)).split()
            prompt = " ".join(start + tokens[: a.positions - len(start)])
            ref = teacher_forced_logits(float_lib, prompt, a.positions)
            prompts.append(prompt)
            refs.append((ref, log_softmax(ref)))
        many = a.sequences > 1
        extra = " largest KL |" if many else ""
        print(f"| setting | flags | library bytes | top-1 agreement | mean KL(float ‖ q) |{extra}")
        print("|---|---|---|---|---|" + ("---|" if many else ""))
        size = os.path.getsize(float_lib)
        print(f"| float | --bits=none | {size} | 1.000 | 0 |" + (" 0 |" if many else ""))
        for s in settings:
            name, flags = s.split("=", 1)
            lib = os.path.join(tmp, name.replace(" ", "_") + ".so")
            tool("quant-compile", model, *flags.split(), "-o", lib, "-q")
            top1s, kls = [], []
            for prompt, (ref, ref_lp) in zip(prompts, refs):
                q = teacher_forced_logits(lib, prompt, a.positions)
                top1s.append(float(np.mean(ref.argmax(1) == q.argmax(1))))
                kls.append(mean_kl(ref_lp, log_softmax(q)))
            row = f"| {name} | {flags} | {os.path.getsize(lib)} | {np.mean(top1s):.3f} | {np.mean(kls):.4f} |"
            print(row + (f" {max(kls):.4f} |" if many else ""))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
