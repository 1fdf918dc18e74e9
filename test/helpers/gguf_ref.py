#!/usr/bin/env python3
"""An independent numpy reference for GGUF files: parses the file, dequantizes
every tensor as ggml's dequantize_row_* functions do (ggml-quants.c), and runs
the Hugging Face forward pass of ../HuggingFace/hf_ref.py on the values:

  gguf_ref.py run FILE.gguf --steps N [--tokens "1 ..."] [--logits FILE]

For architecture llama the q/k rows, which GGUF stores in Meta's interleaved
order, are permuted to Hugging Face's rotate-half order first (the inverse
of llama.cpp's convert script); qwen2 rows are used as stored.
"""
import argparse
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_ref  # noqa: E402
import hf_writer  # noqa: E402

SCALAR = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1",
          10: "<u8", 11: "<i8", 12: "<f8"}
# type: (block elements, block bytes)
BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22),
          7: (32, 24), 8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210),
          39: (32, 17), 20: (32, 18)}


def parse(path):
    raw = open(path, "rb").read()
    o = 0

    def take(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, raw, o)
        o += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal o
        n = take("Q")
        s = raw[o:o + n].decode()
        o += n
        return s

    def value(t):
        nonlocal o
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        v = np.frombuffer(raw, SCALAR[t], 1, o)[0]
        o += np.dtype(SCALAR[t]).itemsize
        return v.item()

    assert raw[:4] == b"GGUF"
    o = 4
    version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", 32)
    start = (o + align - 1) // align * align
    tensors = {}
    for name, dims, t, off in infos:
        n = int(np.prod(dims))
        block, size = BLOCKS[t]
        data = np.frombuffer(raw, np.uint8, n // block * size, start + off)
        tensors[name] = dequantize(data, t, n).reshape(list(reversed(dims)))
    return meta, tensors


def h(b):
    """f16 values from pairs of bytes."""
    return b.copy().view("<f2").astype(np.float64).reshape(-1)


def dequantize(data, t, n):
    if t == 0:
        return data.view("<f4").astype(np.float64)
    if t == 1:
        return data.view("<f2").astype(np.float64)
    if t == 30:
        return (data.view("<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    block, size = BLOCKS[t]
    b = data.reshape(-1, size)
    if t == 8:  # Q8_0: d, qs[32]
        return (h(b[:, :2])[:, None] * b[:, 2:].view(np.int8)).reshape(-1)
    if t == 39:  # MXFP4: e (E8M0), qs[16]; x[j] = e2m1(lo) 2^(e-127), x[j + 16] = e2m1(hi) 2^(e-127)
        e2m1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, 0, -0.5, -1, -1.5, -2, -3, -4, -6])
        qs = b[:, 1:].astype(np.int64)
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1)
        return (2.0 ** (b[:, 0].astype(np.float64) - 127)[:, None] * e2m1[q]).reshape(-1)
    if t == 20:  # IQ4_NL: d, qs[16]; x[j] = d kvalues_iq4nl[lo], x[j + 16] = d kvalues_iq4nl[hi]
        kvalues = np.array([-127, -104, -83, -65, -49, -35, -22, -10,
                            1, 13, 25, 38, 53, 69, 89, 113], np.float64)
        qs = b[:, 2:].astype(np.int64)
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1)
        return (h(b[:, :2])[:, None] * kvalues[q]).reshape(-1)
    if t == 2:  # Q4_0: d, qs[16]; x[j] = (lo - 8) d, x[j + 16] = (hi - 8) d
        qs = b[:, 2:].astype(np.int64)
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1) - 8
        return (h(b[:, :2])[:, None] * q).reshape(-1)
    if t == 6:  # Q5_0: d, qh (u32), qs[16]
        qh = b[:, 2:6].copy().view("<u4").astype(np.int64).reshape(-1, 1)
        qs = b[:, 6:].astype(np.int64)
        j = np.arange(16)
        lo = (qs & 0xF) | (((qh >> j) << 4) & 0x10)
        hi = (qs >> 4) | ((qh >> (j + 12)) & 0x10)
        return (h(b[:, :2])[:, None] * (np.concatenate([lo, hi], axis=1) - 16)).reshape(-1)
    if t in (3, 7):  # Q4_1: d, m, qs[16]; Q5_1: d, m, qh (u32), qs[16]
        d, m = h(b[:, 0:2])[:, None], h(b[:, 2:4])[:, None]
        qs = b[:, 4 if t == 3 else 8:].astype(np.int64)
        lo, hi = qs & 0xF, qs >> 4
        if t == 7:
            qh = b[:, 4:8].copy().view("<u4").astype(np.int64).reshape(-1, 1)
            j = np.arange(16)
            lo = lo | (((qh >> j) << 4) & 0x10)
            hi = hi | ((qh >> (j + 12)) & 0x10)
        return (np.concatenate([lo, hi], axis=1) * d + m).reshape(-1)
    if t in (12, 13):  # Q4_K / Q5_K: d, dmin, scales[12], (qh[32],) qs[128]
        out = np.zeros((b.shape[0], 256))
        for i in range(b.shape[0]):
            d, dmin = h(b[i, 0:2])[0], h(b[i, 2:4])[0]
            q = b[i, 4:16].astype(np.int64)
            qh = b[i, 16:48].astype(np.int64) if t == 13 else None
            qs = b[i, 48:] if t == 13 else b[i, 16:]
            qs = qs.astype(np.int64)

            def scale_min(j):  # ggml's get_scale_min_k4
                if j < 4:
                    return q[j] & 63, q[j + 4] & 63
                return (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)

            y = out[i]
            u1, u2 = 1, 2
            for j in range(4):
                sc1, m1 = scale_min(2 * j)
                sc2, m2 = scale_min(2 * j + 1)
                chunk = qs[32 * j:32 * j + 32]
                lo, hi = chunk & 0xF, chunk >> 4
                if qh is not None:
                    lo = lo + np.where(qh & u1, 16, 0)
                    hi = hi + np.where(qh & u2, 16, 0)
                y[64 * j:64 * j + 32] = d * sc1 * lo - dmin * m1
                y[64 * j + 32:64 * j + 64] = d * sc2 * hi - dmin * m2
                u1 <<= 2
                u2 <<= 2
        return out.reshape(-1)
    if t == 14:  # Q6_K: ql[128], qh[64], scales[16], d
        out = np.zeros((b.shape[0], 256))
        d = h(b[:, 208:210])
        sc = b[:, 192:208].view(np.int8).astype(np.float64)
        for i in range(b.shape[0]):
            ql, qh, y = b[i, :128].astype(np.int64), b[i, 128:192].astype(np.int64), out[i]
            for half in range(2):
                for l in range(32):
                    s = 8 * half + l // 16
                    base = 128 * half
                    q1 = ((ql[64 * half + l] & 0xF) | (((qh[32 * half + l] >> 0) & 3) << 4)) - 32
                    q2 = ((ql[64 * half + l + 32] & 0xF) | (((qh[32 * half + l] >> 2) & 3) << 4)) - 32
                    q3 = ((ql[64 * half + l] >> 4) | (((qh[32 * half + l] >> 4) & 3) << 4)) - 32
                    q4 = ((ql[64 * half + l + 32] >> 4) | (((qh[32 * half + l] >> 6) & 3) << 4)) - 32
                    y[base + l] = d[i] * sc[i, s] * q1
                    y[base + l + 32] = d[i] * sc[i, s + 2] * q2
                    y[base + l + 64] = d[i] * sc[i, s + 4] * q3
                    y[base + l + 96] = d[i] * sc[i, s + 6] * q4
        return out.reshape(-1)
    raise ValueError(f"type {t}")


def to_hf(meta, g):
    arch = meta["general.architecture"]
    a = lambda k, default=None: meta.get(f"{arch}.{k}", default)
    heads = a("attention.head_count")
    kv_heads = a("attention.head_count_kv", heads)
    dim = a("embedding_length")
    cfg = {"hidden_size": dim, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
           "head_dim": a("attention.key_length", dim // heads),
           "num_hidden_layers": a("block_count"), "rms_norm_eps": a("attention.layer_norm_rms_epsilon"),
           "rope_theta": a("rope.freq_base", 10000.0), "tie_word_embeddings": "output.weight" not in g}
    names = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
             "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
             "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
             "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
             "attn_output.weight": "self_attn.o_proj.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
             "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"}
    t = {}
    for name, v in g.items():
        if name == "token_embd.weight":
            t["model.embed_tokens.weight"] = v
        elif name == "output.weight":
            t["lm_head.weight"] = v
        elif name == "output_norm.weight":
            t["model.norm.weight"] = v
        else:
            _, layer, rest = name.split(".", 2)
            if arch == "llama" and rest in ("attn_q.weight", "attn_k.weight"):
                v = hf_writer.hf_permute(v, heads if rest == "attn_q.weight" else kv_heads)
            t[f"model.layers.{layer}.{names[rest]}"] = v
    return cfg, t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("file")
    r.add_argument("--steps", type=int, default=16)
    r.add_argument("--tokens", default="1")
    r.add_argument("--logits")
    args = p.parse_args()
    cfg, tensors = to_hf(*parse(args.file))
    m = hf_ref.Model(cfg=cfg, tensors=tensors)
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
