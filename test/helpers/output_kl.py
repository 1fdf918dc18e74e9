#!/usr/bin/env python3
"""Mean KL(float || quantized) of two compiled model libraries over a token file.

  output_kl.py FLOAT.so QUANT.so TOKENS.txt [--expect VALUE] [--sensitivity FILE NAME SPEC]

Feeds every line of TOKENS.txt (one sample per line, '#' comments) to both
libraries with quant-run (teacher forcing from position 0, fresh state),
compares their logits at every position, and prints the mean over all
positions of KL(p_float || p_quant), the number quant-compile --calibrate
reports. With --expect or --sensitivity (a line 'NAME SPEC VALUE' of a
--sensitivities-out file) it also prints whether the two agree to 1e-3
relative (plus 1e-7 absolute): the in-process measurement swaps dequantized
weights into the float model, the library runs the fused quantized kernels,
so only the float rounding of the sums may differ.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def logits(lib, tokens, path):
    subprocess.run(["quant-run", lib, "--tokens", " ".join(tokens), "--steps", "0",
                    "--logits", path], check=True, stdout=subprocess.DEVNULL)
    return np.fromfile(path, dtype="<f4").reshape(len(tokens), -1).astype(np.float64)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("float_lib")
    p.add_argument("quant_lib")
    p.add_argument("tokens")
    p.add_argument("--expect", type=float)
    p.add_argument("--sensitivity", nargs=3, metavar=("FILE", "NAME", "SPEC"))
    a = p.parse_args()
    total, count = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for line in open(a.tokens):
            tokens = line.split("#")[0].split()
            if not tokens:
                continue
            lp = log_softmax(logits(a.float_lib, tokens, os.path.join(tmp, "f")))
            lq = log_softmax(logits(a.quant_lib, tokens, os.path.join(tmp, "q")))
            total += float(np.sum(np.exp(lp) * (lp - lq)))
            count += len(tokens)
    kl = total / count
    print(f"KL over {count} positions: {kl:.6e}")
    expect = a.expect
    if a.sensitivity:
        path, name, spec = a.sensitivity
        for line in open(path):
            w = line.split()
            if len(w) == 3 and w[0] == name and w[1] == spec:
                expect = float(w[2])
        if expect is None:
            sys.exit(f"no sensitivity for {name} {spec} in {path}")
    if expect is not None:
        ok = abs(kl - expect) <= 1e-3 * abs(expect) + 1e-7
        print(f"{'MATCH' if ok else 'MISMATCH'}: reported {expect:.6e}")


if __name__ == "__main__":
    main()
