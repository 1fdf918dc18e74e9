"""Helpers shared by the evaluation scripts: run the built qnt tools, compare
logits."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def tool(name, *args):
    """Runs build/bin/NAME with ARGS; exits with its stderr on failure."""
    cmd = [os.path.join(BIN, name), *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr}")
    return res.stdout


def teacher_forced_logits(lib, prompt, positions):
    """Logits [positions, vocab] of `lib` fed the space-separated `prompt`."""
    path = lib + ".logits"
    tool("quant-run", lib, "--tokens", prompt, "--steps", "0", "--logits", path)
    return np.fromfile(path, dtype="<f4").reshape(positions, -1).astype(np.float64)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def mean_kl(ref_log_probs, log_probs):
    """Mean over rows of KL(p_ref || p)."""
    return float(np.mean(np.sum(np.exp(ref_log_probs) * (ref_log_probs - log_probs), axis=1)))
