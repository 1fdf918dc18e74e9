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


def quantize(w, bits, group, imp=None, chunk=512):
    """Dequantized W^ of w [N, K], symmetric codes, group 0 = per channel."""
    n, k = w.shape
    g = group or k
    qmax = np.float32((1 << (bits - 1)) - 1); qmin = np.float32(-(1 << (bits - 1)))
    out = np.empty_like(w)
    impg = None if imp is None else imp.reshape(1, k // g, g).astype(np.float32)
    for r0 in range(0, n, chunk):
        wg = w[r0:r0 + chunk].reshape(-1, k // g, g)
        amax = np.max(np.abs(wg), axis=2, keepdims=True).astype(np.float64)
        best_err = best_scale = None
        for i in range(20):
            r = 1.0 - 0.5 * i / 19
            scale = np.maximum((r * amax / qmax).astype(np.float32), np.float32(1e-30))
            q = np.clip(np.round(wg / scale), qmin, qmax)
            e = wg - scale * q
            e *= e
            if impg is not None:
                e *= impg
            err = e.sum(axis=2, keepdims=True, dtype=np.float64)
            if best_err is None:
                best_err, best_scale = err, scale
            else:
                better = err < best_err
                best_err = np.where(better, err, best_err)
                best_scale = np.where(better, scale, best_scale)
        q = np.clip(np.round(wg / best_scale), qmin, qmax)
        out[r0:r0 + chunk] = (best_scale * q).reshape(-1, k)
    return out
