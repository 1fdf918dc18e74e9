#!/usr/bin/env python3
"""Measures each layer's sensitivity to each scheme by running the model.

  scripts/measure_sensitivity.py CHECKPOINT -o sensitivities.txt
      [--positions 128] [--start-token 300] [--schemes "2:32 3:32 ... 8:0"]

For every linear layer of a llama2.c model and every scheme, compiles the model
with only that layer quantized (quant-compile --only), feeds calibration
tokens (the float model's greedy continuation of --start-token, chosen apart
from the evaluation's BOS sequence) and records the mean KL(float || model)
over the positions. Writes 'NAME BITS:GROUP VALUE' lines for
qnt-assign-bitwidths (quant-compile --budget=... --sensitivities=FILE).
"""
import argparse
import concurrent.futures
import os
import struct
import sys
import tempfile

from qnt_tools import log_softmax, mean_kl, teacher_forced_logits, tool


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--positions", type=int, default=128)
    p.add_argument("--start-token", type=int, default=300)
    p.add_argument("--schemes", default="2:32 3:32 4:32 5:32 6:32 8:32 2:0 3:0 4:0 5:0 6:0 8:0")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    with open(a.checkpoint, "rb") as f:
        dim, hidden, layers = struct.unpack("<7i", f.read(28))[:3]
    names = [(f"layers.{l}.{w}", hidden if w == "w2" else dim)
             for l in range(layers) for w in ("wq", "wk", "wv", "wo", "w1", "w2", "w3")]
    names.append(("classifier", dim))
    schemes = a.schemes.split()
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        tool("quant-import", "llama2c", a.checkpoint, "-o", model, "-q")
        float_lib = os.path.join(tmp, "float.so")
        tool("quant-compile", model, "--bits=none", "-o", float_lib, "-q")
        cont = tool("quant-run", float_lib, "--tokens", str(a.start_token),
                    "--steps", str(a.positions - 1)).split()
        prompt = " ".join([str(a.start_token)] + cont)
        ref = log_softmax(teacher_forced_logits(float_lib, prompt, a.positions))

        def measure(job):
            name, scheme = job
            bits, group = scheme.split(":")[:2]
            lib = os.path.join(tmp, f"{name}_{bits}_{group}.so")
            tool("quant-compile", model, f"--bits={bits}", f"--group={group}",
                 f"--only={name}", "-o", lib, "-q")
            q = log_softmax(teacher_forced_logits(lib, prompt, a.positions))
            os.remove(lib)
            return name, scheme, mean_kl(ref, q)

        jobs = [(n, s) for n, k in names for s in schemes
                if int(s.split(":")[1]) == 0 or k % int(s.split(":")[1]) == 0]
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool, open(a.output, "w") as out:
            out.write(f"# mean KL(float || one layer quantized) over {a.positions} positions from token "
                      f"{a.start_token}\n")
            for i, (name, scheme, kl) in enumerate(pool.map(measure, jobs)):
                out.write(f"{name} {scheme} {max(kl, 0.0):.6g}\n")
                if (i + 1) % 50 == 0:
                    print(f"measure_sensitivity: {i + 1}/{len(jobs)}", file=sys.stderr)


if __name__ == "__main__":
    main()
