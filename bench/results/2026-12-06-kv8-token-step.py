"""The i8 KV cache's records with one f16 step per position (2026-12-06 record)

Compares, on stories260K (test/helpers/llama2c_ref.py, teacher forcing over
the float model's own greedy tokens, mean KL(float || cache) and top-1 as
scripts/eval_accuracy.py reports them), over 8 sequences of 256 positions
(the first starts from token 1 alone, as eval_accuracy.py does; the others
from token 1 and then a second token):

  f32 scale   the layout before: codes and an f32 scale amax / 127 per head
  f16 step    quant-compile --kv-cache=i8 now: one f16 step per position, an
              8-bit multiplier per head (llama2c_ref.i8_cache_codes)
  pow2 step   the same with a power-of-two step (1 byte) instead of an f16

  /usr/bin/python3 bench/results/2026-12-06-kv8-token-step.py
"""
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "helpers"))
import llama2c_ref as ref  # noqa: E402

PATH = str(ROOT.parent / "shared" / "models" / "stories260K.bin")
POSITIONS = 256
f32 = np.float32


def f32_scale(heads):
    amax = np.abs(heads).max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, f32(127) / amax, f32(0)).astype(f32)
    return np.rint(heads * inv) * (amax / f32(127))


def pow2_step(heads):
    s = (np.abs(heads).max(axis=1, keepdims=True) / f32(127)).astype(f32)
    largest = float(s.max())
    if largest == 0:
        return np.zeros_like(heads)
    e = int(np.ceil(np.log2(largest / 255.0)))
    while 255 * 2.0 ** (e - 1) >= largest:
        e -= 1
    while 255 * 2.0 ** e < largest:
        e += 1
    s = (f32(2.0 ** e) * np.minimum(np.ceil(s / f32(2.0 ** e)), 255)).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        codes = np.where(s > 0, np.clip(np.rint(heads / s), -127, 127), 0)
    return codes * s


def f16_step(heads):
    codes, scale = ref.i8_cache_codes(heads)
    return codes * scale


class Model(ref.Model):
    encode = staticmethod(f16_step)

    def cache_row(self, x):
        heads = np.asarray(x, dtype=f32).reshape(-1, self.cfg["head"])
        return self.encode(heads).astype(f32).reshape(-1)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def logits(tokens, m):
    return np.array([m.step(t, p) for p, t in enumerate(tokens)])


modes = {"f32 scale": f32_scale, "f16 step": f16_step, "pow2 step": pow2_step}
kls = {name: [] for name in modes}
for start in [1, 300, 42, 7, 100, 500, 2, 77]:
    greedy = ref.Model(PATH)
    tokens = [1] if start == 1 else [1, start]
    for p, t in enumerate(tokens):
        out = greedy.step(t, p)
    while len(tokens) < POSITIONS:
        tokens.append(int(np.argmax(out)))
        out = greedy.step(tokens[-1], len(tokens) - 1)
    reference = log_softmax(logits(tokens, ref.Model(PATH)))
    for name, encode in modes.items():
        m = Model(PATH)
        m.encode = encode
        q = log_softmax(logits(tokens, m))
        kl = float(np.mean(np.sum(np.exp(reference) * (reference - q), axis=1)))
        kls[name].append(kl)
        top1 = np.mean(reference.argmax(1) == q.argmax(1))
        print(f"start {start:3} {name:9} KL {kl:.5f} top-1 {top1:.3f}", flush=True)
for name, values in kls.items():
    print(f"{name:9} mean KL {np.mean(values):.5f}, largest {np.max(values):.5f}")
