"""Where the i4 KV cache's error comes from on stories260K (2026-12-06 record)

Variants of quant-compile --kv-cache=i4 (KIVI-style: keys per channel over
blocks of 32 positions, values per position, the open block's keys in f16),
simulated on test/helpers/llama2c_ref.py with its exact encoders
(kivi_dequantize); teacher forcing over 4 sequences of 256 positions (the
first is scripts/eval_accuracy.py's), mean KL(float || cache).

  /usr/bin/python3 bench/results/2026-12-06-kv4-recency-sim.py "base;lag;lag,vwin"

It subclasses the reference of that day (llama2c_ref.Model's cache_row and
store_kivi_key, commit 4c0c443); the reference now stores the windowed
i4 cache that this record led to, so run it from that commit.

Options of a variant (comma-separated):
  lag       keys: the last closed block stays in f16 too (a window of 32-63
            positions) until the next block closes
  block=N   key blocks of N positions
  prerope   keys quantized before RoPE (rotated after decoding)
  vf16      values in f16 (to isolate the keys' error)
  vrot      values rotated by an 8x8 Hadamard matrix before quantizing
  vwin      values in f16 while their block of 32 is open, then per position
  vchan     values like keys: per channel over blocks of 32, f16 while open
  vlag      with vwin or vchan: values of the last closed block stay f16 too
"""
import sys

import numpy as np

sys.path.insert(0, "test/helpers")
import llama2c_ref as ref  # noqa: E402

PATH = "../shared/models/stories260K.bin"
POSITIONS = 256
f32 = np.float32


def hadamard(n):
    h = np.array([[1.0]])
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return (h / np.sqrt(n)).astype(f32)


class Model(ref.Model):
    def __init__(self, path, opts):
        super().__init__(path, "i4")
        self.opts = {o.split("=")[0] for o in opts}
        for o in opts:
            if o.startswith("block="):
                self.kv_block = int(o.split("=")[1])
        self.kraw = np.zeros_like(self.k)
        self.vraw = np.zeros_like(self.v)
        self.layer = self.pos = 0

    def quantize_values(self, x):
        return ref.kivi_dequantize(np.asarray(x, dtype=f32).reshape(-1, self.cfg["head"]), axis=1)

    def unrope(self, x, pos):
        head = self.cfg["head"]
        out = x.copy()
        for i in range(0, x.shape[0], 2):
            val = pos / (10000.0 ** ((i % head) / head))
            c, s = np.cos(val), np.sin(val)
            out[i] = x[i] * c + x[i + 1] * s
            out[i + 1] = -x[i] * s + x[i + 1] * c
        return out

    def cache_row(self, x):
        """Values (keys go through store_kivi_key)."""
        x = np.asarray(x, dtype=f32)
        l, pos, b = self.layer, self.pos, 32
        half = x.astype(np.float16).astype(f32)
        if "vf16" in self.opts:
            return half
        if "vrot" in self.opts:
            h = hadamard(self.cfg["head"])
            return (self.quantize_values(x.reshape(-1, self.cfg["head"]) @ h.T) @ h).reshape(-1)
        if "vwin" in self.opts or "vchan" in self.opts:
            chan = "vchan" in self.opts
            self.vraw[l, pos] = half if chan else self.quantize_values(x).reshape(-1)
            if (pos + 1) % b:
                return half
            lo = pos + 1 - b
            if "vlag" in self.opts:
                if lo >= b:
                    old = self.vraw[l, lo - b:lo]
                    self.v[l, lo - b:lo] = ref.kivi_dequantize(old, axis=0) if chan else old
                return half
            block = ref.kivi_dequantize(self.vraw[l, lo:pos + 1], axis=0) if chan else self.vraw[l, lo:pos + 1]
            self.v[l, lo:pos] = block[:-1]
            return block[-1]
        return self.quantize_values(x).reshape(-1)

    def store_kivi_key(self, l, pos, k):
        self.layer, self.pos = l, pos
        b = self.kv_block
        k = np.asarray(k, dtype=f32)
        if "prerope" in self.opts:
            self.kraw[l, pos] = self.unrope(k, pos).astype(np.float16).astype(f32)
            self.k[l, pos] = self.rope(self.kraw[l, pos], pos)
            if (pos + 1) % b == 0:
                lo = pos + 1 - b
                self.kraw[l, lo:pos + 1] = ref.kivi_dequantize(self.kraw[l, lo:pos + 1], axis=0)
                for p in range(lo, pos + 1):
                    self.k[l, p] = self.rope(self.kraw[l, p], p)
            return
        self.k[l, pos] = k.astype(np.float16).astype(f32)
        if (pos + 1) % b:
            return
        lo = pos + 1 - b
        if "lag" in self.opts:
            lo -= b
            if lo < 0:
                return
        self.k[l, lo:lo + b] = ref.kivi_dequantize(self.k[l, lo:lo + b], axis=0)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def logits(tokens, m):
    return np.array([m.step(t, p) for p, t in enumerate(tokens)])


variants = sys.argv[1].split(";") if len(sys.argv) > 1 else ["base"]
kls = {v: [] for v in variants}
for start in [1, 300, 42, 500]:
    greedy = ref.Model(PATH)
    tokens = [1] if start == 1 else [1, start]
    for p, t in enumerate(tokens):
        out = greedy.step(t, p)
    while len(tokens) < POSITIONS:
        tokens.append(int(np.argmax(out)))
        out = greedy.step(tokens[-1], len(tokens) - 1)
    reference = log_softmax(logits(tokens, ref.Model(PATH)))
    for v in variants:
        q = log_softmax(logits(tokens, Model(PATH, [o for o in v.split(",") if o != "base"])))
        kls[v].append(float(np.mean(np.sum(np.exp(reference) * (reference - q), axis=1))))
for v, values in kls.items():
    print(f"{v:20} mean KL {np.mean(values):.3f}  per sequence {' '.join(f'{x:.3f}' for x in values)}")
