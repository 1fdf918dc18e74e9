#!/usr/bin/env python3
"""Compiled libraries of one model side by side: size, speed and accuracy.

  scripts/compare_libraries.py FLOAT.so OTHER.so [OTHER.so ...]
      [--names float,int4] [--positions 128] [--threads N]

The first library is the reference (normally --bits=none). It generates
POSITIONS tokens greedily from BOS; every library is then fed BOS and the
first POSITIONS-1 of them (teacher forcing: quant-run --steps 0 --logits),
and its logits are compared with the reference's at every position: top-1
agreement and mean KL(reference || library). Speed: quant-run --time on a
prompt of POSITIONS/2 of those tokens (prefill tokens/s), then the rest
decoded (ms per token). Prints a table. Uses build/bin/quant-run.
"""
import argparse
import os
import re
import sys

import numpy as np

from qnt_tools import log_softmax, mean_kl, teacher_forced_logits, tool


def timing(lib, prompt, steps, threads):
    """(prefill tokens/s, decode ms/token) of `lib` from quant-run --time."""
    import subprocess
    from qnt_tools import BIN
    cmd = [os.path.join(BIN, "quant-run"), lib, "--tokens", prompt,
           "--steps", str(steps), "--time"]
    if threads:
        cmd += ["--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr}")
    prefill = re.search(r"prefill: [\d.]+ ms for \d+ tokens \(([\d.]+) tokens/s\)", res.stderr)
    decode = re.search(r"decode: \d+ steps, median ([\d.]+) ms", res.stderr)
    return (float(prefill.group(1)) if prefill else float("nan"),
            float(decode.group(1)) if decode else float("nan"))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("libraries", nargs="+", help="the reference first")
    p.add_argument("--names", help="comma-separated column names")
    p.add_argument("--positions", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="0: every core")
    a = p.parse_args()
    if len(a.libraries) < 2:
        sys.exit("compare_libraries.py: give the reference library and at least one more")
    names = a.names.split(",") if a.names else [os.path.basename(l) for l in a.libraries]
    if len(names) != len(a.libraries):
        sys.exit("compare_libraries.py: --names needs one name per library")

    reference = a.libraries[0]
    generated = tool("quant-run", reference, "--steps", str(a.positions)).split()
    prompt = " ".join(["1"] + generated[: a.positions - 1])
    ref = teacher_forced_logits(reference, prompt, a.positions)
    ref_lp = log_softmax(ref)
    half = " ".join(prompt.split()[: a.positions // 2])

    rows = {"library size": [], "prefill (tokens/s)": [], "decode (ms/token)": [],
            f"top-1 agreement ({a.positions} positions)": [], "mean KL vs reference": []}
    for lib in a.libraries:
        logits = ref if lib == reference else teacher_forced_logits(lib, prompt, a.positions)
        tokens_per_s, ms = timing(lib, half, a.positions - a.positions // 2, a.threads)
        rows["library size"].append(f"{os.path.getsize(lib) / 1e6:.2f} MB")
        rows["prefill (tokens/s)"].append(f"{tokens_per_s:.0f}")
        rows["decode (ms/token)"].append(f"{ms:.3f}")
        rows[f"top-1 agreement ({a.positions} positions)"].append(
            f"{np.mean(ref.argmax(1) == logits.argmax(1)):.3f}")
        rows["mean KL vs reference"].append(f"{mean_kl(ref_lp, log_softmax(logits)):.4f}")
    width = max(len(k) for k in rows)
    cols = [max(len(n), 10) for n in names]
    print(" " * width + "  " + "  ".join(n.rjust(c) for n, c in zip(names, cols)))
    for k, values in rows.items():
        print(k.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(values, cols)))


if __name__ == "__main__":
    main()
