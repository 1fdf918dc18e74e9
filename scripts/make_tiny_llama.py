#!/usr/bin/env python3
"""Writes a small llama2.c checkpoint with deterministic weights.

  make_tiny_llama.py OUT [--dim 48 --hidden 128 --layers 2 --heads 6
                          --kv-heads 2 --vocab 64 --seq 32 --seed 0
                          --unshared --repeat-rows]

The weights are random (fixed seed) with the statistics of a trained model's
(small normal weights, unit norm gains), so the model produces varied tokens.
--unshared stores a separate classifier after the RoPE tables and writes
vocab_size negated, as llama2.c does. --repeat-rows makes every row of a
matrix a copy of its first: the libraries compiled from it compress to
little, to be carried to a GPU machine for timing (bench/gpu.sh); the
kernels' work does not depend on the values. Used by the demo, by tests that must run
without ../shared/models, and for a synthetic model of 1.1 billion parameters
(docs/PERFORMANCE.md, "Compile time and memory"):
  make_tiny_llama.py OUT --dim 2048 --hidden 5632 --layers 22 --heads 32
                         --kv-heads 4 --vocab 32000 --seq 2048 --unshared
"""
import argparse

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--dim", type=int, default=48)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--vocab", type=int, default=64)
    p.add_argument("--seq", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unshared", action="store_true",
                   help="a classifier of its own (header vocab_size < 0)")
    p.add_argument("--repeat-rows", action="store_true",
                   help="every row of a matrix a copy of its first")
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    d, h, l, v = a.dim, a.hidden, a.layers, a.vocab
    kv = d * a.kv_heads // a.heads
    head = d // a.heads

    def normal(*shape, scale=1.0):
        fan_in = shape[-1]
        drawn = shape if not a.repeat_rows else (1,) + shape[1:]
        values = rng.standard_normal(drawn) * scale / np.sqrt(fan_in)
        return np.broadcast_to(values, shape).astype(np.float32)

    def gains():
        return (1 + 0.1 * rng.standard_normal((l, d))).astype(np.float32)

    # Written as generated, one layer's matrix at a time, so a model of
    # billions of parameters needs memory for one matrix only. (Drawing the
    # layers one by one gives the same numbers as drawing them all at once.)
    with open(a.out, "wb") as f:
        def write(part):
            f.write(np.ascontiguousarray(part).astype(part.dtype.newbyteorder("<")).tobytes())

        def per_layer(rows, cols, scale):
            for _ in range(l):
                write(normal(rows, cols, scale=scale))

        write(np.array([d, h, l, a.heads, a.kv_heads, -v if a.unshared else v, a.seq], dtype="<i4"))
        write(normal(v, d, scale=1.0))               # token embedding
        write(gains())                               # rms_att
        per_layer(d, d, 2)                           # wq
        per_layer(kv, d, 2)                          # wk
        per_layer(kv, d, 2)                          # wv
        per_layer(d, d, 2)                           # wo
        write(gains())                               # rms_ffn
        per_layer(h, d, 2)                           # w1
        per_layer(d, h, 2)                           # w2
        per_layer(h, d, 2)                           # w3
        write(np.ones(d, dtype=np.float32))          # rms_final
        write(np.zeros(a.seq * head // 2, dtype=np.float32))  # legacy RoPE tables
        write(np.zeros(a.seq * head // 2, dtype=np.float32))
        if a.unshared:
            write(normal(v, d, scale=1.0))           # classifier

if __name__ == "__main__":
    main()
