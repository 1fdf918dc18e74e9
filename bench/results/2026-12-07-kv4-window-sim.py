"""Simulated i4 KV caches with an 8-bit window (2026-12-07 record, before
the design was built): keys and values per channel over blocks of B
positions (kivi_dequantize), the newest NW blocks in 8-bit codes (the i8
cache's records, i8_cache_codes, standing in for the window's codes);
blocks leaving the window are encoded from their 8-bit values. Teacher
forcing on stories260K over sequences of 256 positions (greedy from a start
token), mean KL(float || cache) per variant "NW,B" (add ",vtok" for values
per position instead):

  /usr/bin/python3 bench/results/2026-12-07-kv4-window-sim.py "1,32;2,32;2,16" 8
"""
import sys
import numpy as np
sys.path.insert(0, "test/helpers")
import llama2c_ref as ref
PATH = "../shared/models/stories260K.bin"
POSITIONS = 256
f32 = np.float32

class Model(ref.Model):
    def __init__(self, path, nw, b, vtok=False):
        super().__init__(path, "f32")
        self.nw, self.b, self.vtok = nw, b, vtok
    def i8(self, x):
        codes, scale = ref.i8_cache_codes(np.asarray(x, f32).reshape(-1, self.cfg["head"]))
        return (codes * scale).astype(f32).reshape(-1)
    def step(self, token, pos):
        self.pos = pos
        return super().step(token, pos)
    def cache_row(self, x):
        raise AssertionError
    def store(self, arr, l, pos, x, per_token):
        hs = self.cfg["head"]
        if per_token:
            arr[l, pos] = ref.kivi_dequantize(np.asarray(x, f32).reshape(-1, hs), axis=1).reshape(-1)
            return
        arr[l, pos] = self.i8(x)
        b = self.b
        if (pos + 1) % b:
            return
        lo = pos + 1 - self.nw * b
        if lo < 0:
            return
        blk = arr[l, lo:lo + b]
        arr[l, lo:lo + b] = ref.kivi_dequantize(blk, axis=0)

import types
def patched_step(self, token, pos):
    c, w = self.cfg, self.w
    x = w["emb"][token].astype(np.float64)
    group = c["heads"] // c["kv_heads"]
    for l in range(c["layers"]):
        xb = ref.rmsnorm(x, w["rms_att"][l]).astype(np.float64)
        q = w["wq"][l] @ xb; k = w["wk"][l] @ xb; v = w["wv"][l] @ xb
        q, k = self.rope(q, pos), self.rope(k, pos)
        self.store(self.k, l, pos, k, False)
        self.store(self.v, l, pos, v, self.vtok)
        att_out = np.zeros(c["dim"])
        for h in range(c["heads"]):
            hs = c["head"]; kvh = h // group
            qh = q[h * hs:(h + 1) * hs]
            keys = self.k[l, :pos + 1, kvh * hs:(kvh + 1) * hs].astype(np.float64)
            s = keys @ qh / np.sqrt(hs); s = np.exp(s - s.max()); s /= s.sum()
            vals = self.v[l, :pos + 1, kvh * hs:(kvh + 1) * hs].astype(np.float64)
            att_out[h * hs:(h + 1) * hs] = s @ vals
        x = x + w["wo"][l] @ att_out
        xb = ref.rmsnorm(x, w["rms_ffn"][l]).astype(np.float64)
        h1 = w["w1"][l] @ xb; h3 = w["w3"][l] @ xb
        x = x + w["w2"][l] @ (h1 / (1 + np.exp(-h1)) * h3)
    x = ref.rmsnorm(x, w["rms_final"]).astype(np.float64)
    return w["cls"] @ x
Model.step = patched_step

def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

variants = sys.argv[1].split(";")
kls = {v: [] for v in variants}
for start in [1, 300, 42, 500, 7, 100, 77, 250][:int(sys.argv[2]) if len(sys.argv) > 2 else 4]:
    greedy = ref.Model(PATH)
    tokens = [1] if start == 1 else [1, start]
    for p, t in enumerate(tokens):
        out = greedy.step(t, p)
    while len(tokens) < POSITIONS:
        tokens.append(int(np.argmax(out)))
        out = greedy.step(tokens[-1], len(tokens) - 1)
    m0 = ref.Model(PATH)
    reference = log_softmax(np.array([m0.step(t, p) for p, t in enumerate(tokens)]))
    for v in variants:
        nw, b = (int(x) for x in v.split(",")[:2])
        m = Model(PATH, nw, b, "vtok" in v)
        q = log_softmax(np.array([m.step(t, p) for p, t in enumerate(tokens)]))
        kls[v].append(float(np.mean(np.sum(np.exp(reference) * (reference - q), axis=1))))
    print(start, {v: round(k[-1], 3) for v, k in kls.items()}, flush=True)
for v, values in kls.items():
    print(f"{v:20} mean KL {np.mean(values):.3f} max {np.max(values):.3f} per sequence {' '.join(f'{x:.3f}' for x in values)}")
