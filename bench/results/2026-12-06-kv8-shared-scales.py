"""An i8 KV cache whose scale is shared by several heads of a token
(2026-12-06 record, bench/results/2026-12-06-kv8-shared-scales.md).

Simulates stories260K on test/helpers/llama2c_ref.py with each cache row
(a token's keys or values, 4 KV heads of 8) quantized to int8 with one scale
(amax / 127) per WIDTH values, the scale stored as f32 or f16 (rounded up,
so no code exceeds 127); teacher forcing over the float model's own 256
greedy tokens, mean KL(float || cache) and top-1 agreement, as
scripts/eval_accuracy.py reports.

  /usr/bin/python3 bench/results/2026-12-06-kv8-shared-scales.py [path/to/stories260K.bin]
"""
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "helpers"))
import llama2c_ref as ref  # noqa: E402

PATH = sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "models" / "stories260K.bin")
POSITIONS = 256


class Model(ref.Model):
    width = 8
    scale_dtype = np.float32

    def cache_row(self, x):
        g = np.asarray(x, dtype=np.float32).reshape(-1, self.width)
        s = (np.abs(g).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
        if self.scale_dtype == np.float16:
            h = s.astype(np.float16)
            h = np.where(h.astype(np.float32) < s, np.nextafter(h, np.float16(np.inf)), h)
            s = h.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            codes = np.where(s > 0, np.clip(np.rint(g / s), -127, 127), 0)
        return (codes * s).astype(np.float32).reshape(-1)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def logits(tokens, m):
    return np.array([m.step(t, p) for p, t in enumerate(tokens)])


greedy = ref.Model(PATH)
tokens = [1]
for p in range(POSITIONS - 1):
    tokens.append(int(np.argmax(greedy.step(tokens[-1], p))))
reference = log_softmax(logits(tokens, ref.Model(PATH)))
for width, dtype in [(8, np.float32), (16, np.float32), (16, np.float16),
                     (32, np.float32), (32, np.float16)]:
    m = Model(PATH)
    m.width, m.scale_dtype = width, dtype
    q = log_softmax(logits(tokens, m))
    kl = np.mean(np.sum(np.exp(reference) * (reference - q), axis=1))
    top1 = np.mean(reference.argmax(1) == q.argmax(1))
    size = (width + np.dtype(dtype).itemsize) / (4 * width)
    print(f"{width:3} values per {np.dtype(dtype).name} scale: {size:.3f}x "
          f"KL {kl:.5f} top-1 {top1:.3f}", flush=True)
