#!/usr/bin/env python3
"""Writes small GGUF files (version 3) for tests with numpy only, quantizing
with its own block encoders written from ggml's block layouts
(ggml-common.h); the bytes decode with gguf_ref.py.

  gguf_writer.py stories CHECKPOINT.bin OUT.gguf --type T   llama2.c model, architecture llama
  gguf_writer.py qwen2 OUT.gguf --type T                    synthetic Qwen2-style model
  gguf_writer.py synthetic OUT.gguf --type T                random llama, rows of 256

T is the type of every 2-D weight (the embedding included): F32, F16, BF16,
Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, MXFP4, IQ4_NL, or `mixed`
(the weights cycle through the types of MIXED, as llama.cpp's mixed "_M"
files mix block types). Norms and biases are F32.
--untied writes output.weight; --version 2 writes a version-2 file.

Architecture llama keeps Meta's interleaved q/k rows (llama.cpp's convert
script permutes Hugging Face rows back to them); qwen2 keeps Hugging Face's
rows (llama.cpp rotates halves for it).
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_writer  # noqa: E402

TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
         "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "IQ4_NL": 20, "BF16": 30, "MXFP4": 39}
MIXED = ["Q4_0", "Q8_0", "Q6_K", "Q5_0", "F16", "Q4_1", "Q4_K", "BF16", "Q5_1", "Q5_K", "F32"]


def f16(x):
    return np.asarray(x, dtype=np.float32).astype("<f2")


def quant_q8_0(x):
    b = x.reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = f16(amax / 127)
    inv = np.where(d.astype(np.float32) != 0, 1 / np.where(d == 0, 1, d.astype(np.float32)), 0)
    q = np.clip(np.rint(b * inv[:, None]), -128, 127).astype(np.int8)
    out = np.zeros((b.shape[0], 34), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def signed_max(b):
    """Per row, the element of largest magnitude, with its sign."""
    return b[np.arange(b.shape[0]), np.abs(b).argmax(axis=1)]


def quant_q4_0(x):
    b = x.reshape(-1, 32)
    d = f16(signed_max(b) / -8)
    df = d.astype(np.float32)
    inv = np.where(df != 0, 1 / np.where(df == 0, 1, df), 0)
    q = np.clip(np.rint(b * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    out = np.zeros((b.shape[0], 18), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def quant_q5_0(x):
    b = x.reshape(-1, 32)
    d = f16(signed_max(b) / -16)
    df = d.astype(np.float32)
    inv = np.where(df != 0, 1 / np.where(df == 0, 1, df), 0)
    q = np.clip(np.rint(b * inv[:, None]) + 16, 0, 31).astype(np.uint32)
    out = np.zeros((b.shape[0], 22), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    qh = np.zeros(b.shape[0], np.uint32)
    for j in range(16):
        qh |= ((q[:, j] >> 4) & 1) << j
        qh |= ((q[:, j + 16] >> 4) & 1) << (j + 16)
    out[:, 2:6] = qh.astype("<u4").view(np.uint8).reshape(-1, 4)
    out[:, 6:] = ((q[:, :16] & 0xF) | ((q[:, 16:] & 0xF) << 4)).astype(np.uint8)
    return out.tobytes()


def quant_q6_k(x):
    b = x.reshape(-1, 256)
    n = b.shape[0]
    groups = b.reshape(n, 16, 16)
    gscale = signed_max(groups.reshape(-1, 16)).reshape(n, 16) / -32
    dmax = signed_max(gscale)
    d = f16(dmax / -128)
    df = d.astype(np.float32)
    inv = np.where(df != 0, 1 / np.where(df == 0, 1, df), 0)
    sc = np.clip(np.rint(gscale * inv[:, None]), -128, 127).astype(np.int8)
    eff = df[:, None] * sc.astype(np.float32)
    einv = np.where(eff != 0, 1 / np.where(eff == 0, 1, eff), 0)
    q = np.clip(np.rint(groups * einv[:, :, None]) + 32, 0, 63).astype(np.uint8).reshape(n, 256)
    ql = np.zeros((n, 128), np.uint8)
    qh = np.zeros((n, 64), np.uint8)
    for half in range(2):
        y = q[:, 128 * half:128 * (half + 1)]
        for l in range(32):
            q1, q2, q3, q4 = y[:, l], y[:, l + 32], y[:, l + 64], y[:, l + 96]
            ql[:, 64 * half + l] = (q1 & 0xF) | ((q3 & 0xF) << 4)
            ql[:, 64 * half + l + 32] = (q2 & 0xF) | ((q4 & 0xF) << 4)
            qh[:, 32 * half + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
    out = np.zeros((n, 210), np.uint8)
    out[:, :128] = ql
    out[:, 128:192] = qh
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d.view(np.uint8).reshape(-1, 2)
    return out.tobytes()


def quant_qx_1(x, bits):
    """Q4_1 / Q5_1: d = (max - min) / (2^bits - 1), m = min, q = round((x - m) / d)."""
    b = x.reshape(-1, 32)
    lo, hi = b.min(axis=1), b.max(axis=1)
    d = f16((hi - lo) / (2 ** bits - 1))
    m = f16(lo)
    df, mf = d.astype(np.float32), m.astype(np.float32)
    inv = np.where(df != 0, 1 / np.where(df == 0, 1, df), 0)
    q = np.clip(np.rint((b - mf[:, None]) * inv[:, None]), 0, 2 ** bits - 1).astype(np.uint32)
    size = 20 if bits == 4 else 24
    out = np.zeros((b.shape[0], size), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = m.view(np.uint8).reshape(-1, 2)
    nibbles = ((q[:, :16] & 0xF) | ((q[:, 16:] & 0xF) << 4)).astype(np.uint8)
    if bits == 4:
        out[:, 4:] = nibbles
    else:
        qh = np.zeros(b.shape[0], np.uint32)
        for j in range(16):
            qh |= ((q[:, j] >> 4) & 1) << j
            qh |= ((q[:, j + 16] >> 4) & 1) << (j + 16)
        out[:, 4:8] = qh.astype("<u4").view(np.uint8).reshape(-1, 4)
        out[:, 8:] = nibbles
    return out.tobytes()


def quant_qx_k(x, bits):
    """Q4_K / Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and min under
    the super-block's f16 d and dmin: value = d * sc * q - dmin * m."""
    b = x.reshape(-1, 8, 32)
    n = b.shape[0]
    lo = np.minimum(b.min(axis=2), 0)
    hi = b.max(axis=2)
    step = (hi - lo) / (2 ** bits - 1)
    d = f16(step.max(axis=1) / 63)
    dmin = f16((-lo).max(axis=1) / 63)
    df, dminf = d.astype(np.float32), dmin.astype(np.float32)
    sc = np.clip(np.rint(step / np.where(df == 0, 1, df)[:, None]), 0, 63).astype(np.uint8)
    m = np.clip(np.rint(-lo / np.where(dminf == 0, 1, dminf)[:, None]), 0, 63).astype(np.uint8)
    scale = df[:, None] * sc
    offset = dminf[:, None] * m
    inv = np.where(scale != 0, 1 / np.where(scale == 0, 1, scale), 0)
    q = np.clip(np.rint((b + offset[:, :, None]) * inv[:, :, None]), 0, 2 ** bits - 1).astype(np.uint8)
    packed = np.zeros((n, 12), np.uint8)
    for j in range(4):
        packed[:, j] = (sc[:, j] & 63) | ((sc[:, j + 4] >> 4) << 6)
        packed[:, j + 4] = (m[:, j] & 63) | ((m[:, j + 4] >> 4) << 6)
        packed[:, j + 8] = (sc[:, j + 4] & 0xF) | ((m[:, j + 4] & 0xF) << 4)
    q = q.reshape(n, 256)
    qs = np.zeros((n, 128), np.uint8)
    qh = np.zeros((n, 32), np.uint8)
    for j in range(4):
        lo_half, hi_half = q[:, 64 * j:64 * j + 32], q[:, 64 * j + 32:64 * j + 64]
        qs[:, 32 * j:32 * j + 32] = (lo_half & 0xF) | ((hi_half & 0xF) << 4)
        qh |= (((lo_half >> 4) & 1) << (2 * j)).astype(np.uint8)
        qh |= (((hi_half >> 4) & 1) << (2 * j + 1)).astype(np.uint8)
    parts = [d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2), packed]
    if bits == 5:
        parts.append(qh)
    parts.append(qs)
    return np.concatenate(parts, axis=1).tobytes()


# ggml's kvalues_mxfp4: twice the e2m1 values, in code order.
KVALUES_MXFP4 = np.array([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], np.float64)


def quant_mxfp4(x):
    """ggml's block_mxfp4: e (E8M0), qs[16] with element j in the low nibble
    of qs[j] and j + 16 in the high one; x = kvalues_mxfp4[q] * 2^(e - 127) / 2.
    e as ggml's quantizer picks it, floor(log2(amax)) - 2 + 127, and each
    code the nearest value (the first of equals)."""
    b = x.reshape(-1, 32).astype(np.float64)
    amax = np.abs(b).max(axis=1)
    e = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1))) - 2 + 127, 0)
    e = np.clip(e, 1, 254).astype(np.uint8)
    d = 2.0 ** (e.astype(np.float64) - 127) / 2
    q = np.abs(b[:, :, None] / d[:, None, None] - KVALUES_MXFP4[None, None, :]).argmin(axis=2).astype(np.uint8)
    out = np.zeros((b.shape[0], 17), np.uint8)
    out[:, 0] = e
    out[:, 1:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


# ggml's kvalues_iq4nl: the 16 values IQ4_NL's codes index.
KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10,
                          1, 13, 25, 38, 53, 69, 89, 113], np.float64)


def quant_iq4_nl(x):
    """ggml's block_iq4_nl: d (f16), qs[16] with element j in the low nibble
    of qs[j] and j + 16 in the high one; x = d * kvalues_iq4nl[q]. Here d
    maps the block's signed absmax to -127 (as Q4_0 maps it to -8) and each
    code is the nearest value (the first of equals); ggml's own quantizer
    searches d further, which the format does not fix."""
    b = x.reshape(-1, 32).astype(np.float64)
    d = f16(signed_max(b) / -127).astype(np.float64)
    inv = np.where(d != 0, 1 / np.where(d == 0, 1, d), 0)
    q = np.abs(b[:, :, None] * inv[:, None, None] - KVALUES_IQ4NL[None, None, :]).argmin(axis=2).astype(np.uint8)
    out = np.zeros((b.shape[0], 18), np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def encode(x, type_name):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if type_name == "F32":
        return x.astype("<f4").tobytes()
    if type_name == "F16":
        return x.astype("<f2").tobytes()
    if type_name == "BF16":
        return hf_writer.to_bf16_bits(x).astype("<u2").tobytes()
    return {"Q8_0": quant_q8_0, "Q4_0": quant_q4_0, "Q5_0": quant_q5_0,
            "Q4_1": lambda v: quant_qx_1(v, 4), "Q5_1": lambda v: quant_qx_1(v, 5),
            "Q4_K": lambda v: quant_qx_k(v, 4), "Q5_K": lambda v: quant_qx_k(v, 5),
            "Q6_K": quant_q6_k, "MXFP4": quant_mxfp4, "IQ4_NL": quant_iq4_nl}[type_name](x)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, value):
    if isinstance(value, str):
        return gguf_string(key) + struct.pack("<I", 8) + gguf_string(value)
    if isinstance(value, float):
        return gguf_string(key) + struct.pack("<If", 6, value)
    return gguf_string(key) + struct.pack("<II", 4, value)


def write_gguf(path, metadata, tensors, version=3, alignment=32):
    """tensors: list of (name, float32 array [out, in] or [n], type name)."""
    infos, blobs, offset = b"", [], 0
    for name, array, type_name in tensors:
        data = encode(array, type_name)
        dims = list(reversed(array.shape))  # innermost first
        infos += gguf_string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", TYPES[type_name], offset)
        pad = -len(data) % alignment
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    meta = b"".join(kv(k, v) for k, v in metadata.items())
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata)) + meta + infos
    head += b"\0" * (-len(head) % alignment)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)


BLOCK = {"Q8_0": 32, "Q4_0": 32, "Q5_0": 32, "Q4_1": 32, "Q5_1": 32, "Q4_K": 256,
         "Q5_K": 256, "Q6_K": 256, "MXFP4": 32, "IQ4_NL": 32}


def choose(type_arg, i, array):
    """The type of the i-th weight; F16 where the rows are not whole blocks
    (as llama.cpp's quantizer falls back for such tensors)."""
    t = MIXED[i % len(MIXED)] if type_arg == "mixed" else type_arg
    return "F16" if array.shape[-1] % BLOCK.get(t, 1) else t


def stories(args):
    m = hf_writer.load_llama2c(args.checkpoint)
    meta = {"general.architecture": "llama", "general.alignment": 32,
            "llama.context_length": m["seq"], "llama.embedding_length": m["dim"],
            "llama.block_count": m["layers"], "llama.feed_forward_length": m["hidden"],
            "llama.attention.head_count": m["heads"],
            "llama.attention.head_count_kv": m["kv_heads"],
            "llama.attention.layer_norm_rms_epsilon": 1e-5,
            "llama.rope.freq_base": 10000.0,
            "llama.rope.dimension_count": m["dim"] // m["heads"]}
    t, i = [], 0

    def weight(name, a):
        nonlocal i
        t.append((name, a, choose(args.type, i, a)))
        i += 1

    weight("token_embd.weight", m["emb"])
    if args.untied or not m["shared"]:
        weight("output.weight", m["cls"])
    t.append(("output_norm.weight", m["rms_final"], "F32"))
    for l in range(m["layers"]):
        p = f"blk.{l}."
        t.append((p + "attn_norm.weight", m["rms_att"][l], "F32"))
        t.append((p + "ffn_norm.weight", m["rms_ffn"][l], "F32"))
        for name, key in (("attn_q", "wq"), ("attn_k", "wk"), ("attn_v", "wv"),
                          ("attn_output", "wo"), ("ffn_gate", "w1"),
                          ("ffn_down", "w2"), ("ffn_up", "w3")):
            weight(p + name + ".weight", m[key][l])
    write_gguf(args.out, meta, t, args.version)


def synthetic(args):
    """A random llama-architecture model whose rows are whole 256-element
    blocks (dim 256, hidden 512), so that every K-quant applies."""
    rng = np.random.default_rng(99)
    dim, hidden, layers, heads, kv_heads, vocab, seq = 256, 512, 2, 4, 2, 300, 64
    head = dim // heads

    def w(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    meta = {"general.architecture": "llama", "llama.context_length": seq,
            "llama.embedding_length": dim, "llama.block_count": layers,
            "llama.feed_forward_length": hidden, "llama.attention.head_count": heads,
            "llama.attention.head_count_kv": kv_heads,
            "llama.attention.layer_norm_rms_epsilon": 1e-6,
            "llama.rope.freq_base": 500000.0, "llama.rope.dimension_count": head}
    t, i = [], 0

    def weight(name, a):
        nonlocal i
        t.append((name, a, choose(args.type, i, a)))
        i += 1

    weight("token_embd.weight", (rng.standard_normal((vocab, dim))).astype(np.float32))
    weight("output.weight", w(vocab, dim))
    t.append(("output_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), "F32"))
    for l in range(layers):
        p = f"blk.{l}."
        t.append((p + "attn_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), "F32"))
        t.append((p + "ffn_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), "F32"))
        weight(p + "attn_q.weight", w(dim, dim))
        weight(p + "attn_k.weight", w(kv_heads * head, dim))
        weight(p + "attn_v.weight", w(kv_heads * head, dim))
        weight(p + "attn_output.weight", w(dim, dim))
        weight(p + "ffn_gate.weight", w(hidden, dim))
        weight(p + "ffn_up.weight", w(hidden, dim))
        weight(p + "ffn_down.weight", w(dim, hidden))
    write_gguf(args.out, meta, t, args.version)


def qwen2(args):
    cfg, hf = hf_writer.qwen2_model()
    meta = {"general.architecture": "qwen2",
            "qwen2.context_length": cfg["max_position_embeddings"],
            "qwen2.embedding_length": cfg["hidden_size"],
            "qwen2.block_count": cfg["num_hidden_layers"],
            "qwen2.feed_forward_length": cfg["intermediate_size"],
            "qwen2.attention.head_count": cfg["num_attention_heads"],
            "qwen2.attention.head_count_kv": cfg["num_key_value_heads"],
            "qwen2.attention.key_length": cfg["head_dim"],
            "qwen2.attention.value_length": cfg["head_dim"],
            "qwen2.attention.layer_norm_rms_epsilon": cfg["rms_norm_eps"],
            "qwen2.rope.freq_base": cfg["rope_theta"]}
    names = {"input_layernorm.weight": "attn_norm.weight",
             "post_attention_layernorm.weight": "ffn_norm.weight",
             "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
             "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
             "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
             "self_attn.o_proj.weight": "attn_output.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    t, i = [], 0
    for name, a in hf.items():
        if name == "model.embed_tokens.weight":
            g = "token_embd.weight"
        elif name == "model.norm.weight":
            g = "output_norm.weight"
        else:
            layer, rest = name[len("model.layers."):].split(".", 1)
            g = f"blk.{layer}.{names[rest]}"
        if a.ndim == 2:
            t.append((g, a, choose(args.type, i, a)))
            i += 1
        else:
            t.append((g, a, "F32"))
    write_gguf(args.out, meta, t, args.version)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stories")
    s.add_argument("checkpoint")
    s.add_argument("out")
    s.add_argument("--untied", action="store_true")
    q = sub.add_parser("qwen2")
    q.add_argument("out")
    y = sub.add_parser("synthetic")
    y.add_argument("out")
    for a in (s, q, y):
        a.add_argument("--type", default="F32", choices=list(TYPES) + ["mixed"])
        a.add_argument("--version", type=int, default=3, choices=[2, 3])
    args = p.parse_args()
    {"stories": stories, "qwen2": qwen2, "synthetic": synthetic}[args.cmd](args)


if __name__ == "__main__":
    main()
