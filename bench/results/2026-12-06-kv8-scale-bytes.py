"""How small can the i8 KV cache's per-row scale be? (2026-12-06 record)

Simulates stories260K with an i8 cache whose scale (amax / 127 per position
and kv head) is stored in fewer bytes, on test/helpers/llama2c_ref.py:
teacher forcing over the float model's own 256 greedy tokens, mean
KL(float || cache) and top-1 agreement, as scripts/eval_accuracy.py reports.

  /usr/bin/python3 bench/results/2026-12-06-kv8-scale-bytes.py [path/to/stories260K.bin]

Modes: f32 (quant-compile --kv-cache=i8 today), f16 (rounded up, so no code
exceeds 127), mN (an 8-bit float with N mantissa bits, rounded up), mN-best
(the representable scale just below or just above amax / 127, whichever
gives the row the smaller squared error, codes clamped to +-127).
"""
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "helpers"))
import llama2c_ref as ref  # noqa: E402

PATH = sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "models" / "stories260K.bin")
POSITIONS = 256


def round_scale(s, mantissa_bits, up):
    m, e = np.frexp(s)
    f = np.ceil if up else np.floor
    return np.ldexp(f(m * 2 ** (mantissa_bits + 1)) / 2 ** (mantissa_bits + 1), e).astype(np.float32)


class Model(ref.Model):
    mode = "f32"

    def cache_row(self, x):
        x = np.asarray(x, dtype=np.float32)
        heads = x.reshape(-1, self.cfg["head"])
        s = (np.abs(heads).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
        if self.mode == "f32":
            candidates = [s]
        elif self.mode == "f16":
            h = s.astype(np.float16)
            h = np.where(h.astype(np.float32) < s, np.nextafter(h, np.float16(np.inf)), h)
            candidates = [h.astype(np.float32)]
        else:
            bits = int(self.mode[1])
            candidates = [round_scale(s, bits, True)]
            if self.mode.endswith("-best"):
                candidates.append(round_scale(s, bits, False))
        best_err, best = None, None
        for c in candidates:
            with np.errstate(divide="ignore", invalid="ignore"):
                codes = np.where(c > 0, np.clip(np.rint(heads / c), -127, 127), 0)
            value = codes * c
            err = ((value - heads) ** 2).sum(axis=1, keepdims=True)
            if best is None:
                best_err, best = err, value
            else:
                pick = err < best_err
                best_err, best = np.where(pick, err, best_err), np.where(pick, value, best)
        return best.astype(np.float32).reshape(-1)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def logits(tokens, mode=None):
    m = Model(PATH) if mode else ref.Model(PATH)
    if mode:
        m.mode = mode
    return np.array([m.step(t, p) for p, t in enumerate(tokens)])


greedy = ref.Model(PATH)
tokens = [1]
for p in range(POSITIONS - 1):
    tokens.append(int(np.argmax(greedy.step(tokens[-1], p))))
reference = log_softmax(logits(tokens))
for mode in ["f32", "f16", "m3", "m2", "m1", "m0", "m4-best", "m3-best", "m2-best"]:
    q = log_softmax(logits(tokens, mode))
    kl = np.mean(np.sum(np.exp(reference) * (reference - q), axis=1))
    top1 = np.mean(reference.argmax(1) == q.argmax(1))
    print(f"{mode:8} KL {kl:.5f} top-1 {top1:.3f}", flush=True)
