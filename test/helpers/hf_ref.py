#!/usr/bin/env python3
"""An independent numpy forward pass of a Hugging Face Llama/Mistral/Qwen2
checkpoint directory, written from transformers' modeling_llama.py and
modeling_qwen2.py (float64 arithmetic on the stored values):

  hf_ref.py run DIR --steps N [--tokens "1 ..."] [--logits FILE]

RMSNorm x * rsqrt(mean(x^2) + eps) * w; rotary embedding in the rotate-half
form q * cos + rotate_half(q) * sin with cos/sin of cat(freqs, freqs) and
inv_freq = 1 / theta^(arange(0, d, 2) / d); q/k/v biases when present;
grouped-query attention by repeating key-value heads; SwiGLU MLP
down(silu(gate(x)) * up(x)); lm_head or the tied embedding. Prints the
greedy tokens like quant-run and can write every fed token's logits
(float32 rows), which llama2c_ref.py compare checks.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        buf = raw[base + b:base + end]
        if e["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: dtype {e['dtype']}")
        out[name] = a.reshape(e["shape"]).astype(np.float64)
    return out


def load(directory):
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    index = os.path.join(directory, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for file in files:
        tensors.update(read_safetensors(os.path.join(directory, file)))
    return cfg, tensors


class Model:
    def __init__(self, directory=None, cfg=None, tensors=None):
        """A checkpoint directory, or its config and float64 tensors."""
        self.cfg, self.t = load(directory) if directory else (cfg, tensors)
        c = self.cfg
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.eps = c.get("rms_norm_eps", 1e-6)
        theta = c.get("rope_theta", 10000.0)
        d = self.head_dim
        self.inv_freq = 1.0 / (theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
        self.layers = c["num_hidden_layers"]
        self.keys = [[] for _ in range(self.layers)]
        self.values = [[] for _ in range(self.layers)]
        self.lm_head = self.t.get("lm_head.weight")
        if self.lm_head is None or c.get("tie_word_embeddings", False):
            self.lm_head = self.t["model.embed_tokens.weight"]

    def norm(self, x, w):
        return w * (x / np.sqrt(np.mean(x * x) + self.eps))

    def linear(self, x, name):
        y = self.t[name + ".weight"] @ x
        if name + ".bias" in self.t:
            y = y + self.t[name + ".bias"]
        return y

    def rotary(self, x, pos):
        """x: [heads, head_dim]."""
        freqs = pos * self.inv_freq
        emb = np.concatenate([freqs, freqs])
        half = self.head_dim // 2
        rotated = np.concatenate([-x[:, half:], x[:, :half]], axis=1)
        return x * np.cos(emb) + rotated * np.sin(emb)

    def step(self, token, pos):
        t, hd = self.t, self.head_dim
        x = t["model.embed_tokens.weight"][token].copy()
        group = self.heads // self.kv_heads
        for l in range(self.layers):
            p = f"model.layers.{l}."
            h = self.norm(x, t[p + "input_layernorm.weight"])
            q = self.linear(h, p + "self_attn.q_proj").reshape(self.heads, hd)
            k = self.linear(h, p + "self_attn.k_proj").reshape(self.kv_heads, hd)
            v = self.linear(h, p + "self_attn.v_proj").reshape(self.kv_heads, hd)
            q, k = self.rotary(q, pos), self.rotary(k, pos)
            self.keys[l].append(k)
            self.values[l].append(v)
            keys = np.stack(self.keys[l])      # [pos + 1, kv_heads, hd]
            values = np.stack(self.values[l])
            out = np.zeros((self.heads, hd))
            for head in range(self.heads):
                kv = head // group
                scores = keys[:, kv, :] @ q[head] / np.sqrt(hd)
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                out[head] = weights @ values[:, kv, :]
            x = x + self.linear(out.reshape(-1), p + "self_attn.o_proj")
            h = self.norm(x, t[p + "post_attention_layernorm.weight"])
            gate = self.linear(h, p + "mlp.gate_proj")
            up = self.linear(h, p + "mlp.up_proj")
            x = x + self.linear(gate / (1 + np.exp(-gate)) * up, p + "mlp.down_proj")
        x = self.norm(x, t["model.norm.weight"])
        return self.lm_head @ x


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("directory")
    r.add_argument("--steps", type=int, default=16)
    r.add_argument("--tokens", default="1")
    r.add_argument("--logits")
    args = p.parse_args()
    m = Model(args.directory)
    prompt = [int(v) for v in args.tokens.split()]
    rows, out = [], []
    total = len(prompt) + max(args.steps - 1, 0)
    token = prompt[0]
    for pos in range(total):
        logits = m.step(token, pos)
        rows.append(logits.astype(np.float32))
        best = int(np.argmax(logits))
        if pos + 1 < len(prompt):
            token = prompt[pos + 1]
        elif args.steps > 0:
            out.append(best)
            token = best
    if args.logits:
        np.stack(rows).astype("<f4").tofile(args.logits)
    print(" ".join(str(v) for v in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
