#!/usr/bin/env python3
"""Compares quant-compile --hessians-out with the numpy model's sum x x^T.

  hessian_ref.py CHECKPOINT TOKENS.txt HESSIANS.txt
  hessian_ref.py --files REFERENCE.txt HESSIANS.txt

Feeds every line of TOKENS.txt to llama2c_ref.Model (teacher forcing from
position 0, empty cache), adds x x^T of every linear layer's input, and
checks every layer of HESSIANS.txt ('NAME K h00 h01 ...') against it to
1e-5 of the layer's largest |H|; prints PASS or the worst layer. With
--files the reference is another such file.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama2c_ref  # noqa: E402


def read(path):
    out = {}
    for line in open(path):
        words = line.split()
        if words and not words[0].startswith("#"):
            k = int(words[1])
            out[words[0]] = np.array([float(v) for v in words[2:]]).reshape(k, k)
    return out


def main():
    if sys.argv[1] == "--files":
        ref, got = read(sys.argv[2]), read(sys.argv[3])
        worst = max(float(np.max(np.abs(got[n] - ref[n])) / np.max(np.abs(ref[n]))) for n in got)
        ok = worst <= 1e-5 and set(ref) == set(got)
        print(f"{'PASS' if ok else 'FAIL'} {len(got)} layers, largest error {worst:.1e} of the layer's largest |H|")
        return
    checkpoint, tokens, hessians = sys.argv[1:4]
    m = llama2c_ref.Model(checkpoint)
    m.stats = {}
    m.outer = {}
    for line in open(tokens):
        sample = [int(t) for t in line.split("#")[0].split()]
        if not sample:
            continue
        m.k[:] = 0
        m.v[:] = 0
        for pos, token in enumerate(sample):
            m.step(token, pos)
    worst, layers = 0.0, 0
    for line in open(hessians):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        name, k = words[0], int(words[1])
        h = np.array([float(v) for v in words[2:]]).reshape(k, k)
        ref = m.outer[name]
        err = float(np.max(np.abs(h - ref)) / np.max(np.abs(ref)))
        worst = max(worst, err)
        layers += 1
    missing = set(m.outer) - set(w.split()[0] for w in open(hessians) if w.strip() and not w.startswith("#"))
    ok = worst <= 1e-5 and not missing
    print(f"{'PASS' if ok else 'FAIL'} {layers} layers, largest error {worst:.1e} of the layer's largest |H|"
          + (f"; missing {sorted(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
