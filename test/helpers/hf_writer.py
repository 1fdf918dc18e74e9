#!/usr/bin/env python3
"""Writes small Hugging Face checkpoints (config.json + safetensors) for tests,
with numpy only: the safetensors format is an 8-byte little-endian header
length, a JSON header {name: {dtype, shape, data_offsets}} and the raw data.

  hf_writer.py stories CHECKPOINT.bin OUT_DIR [options]   llama2.c model in HF layout
  hf_writer.py qwen2 OUT_DIR [options]                    synthetic Qwen2-style model

Options: --dtype f32|f16|bf16, --shards N (model-0000i-of-0000N.safetensors and
model.safetensors.index.json), --shuffle (tensors in random file order),
--untied (stories: a separate lm_head), --arch NAME (architectures entry).

The llama2.c model's q/k rows are permuted to HF's rotate-half layout as
transformers' convert_llama_weights_to_hf.py does: within each head, the
interleaved pairs (2i, 2i+1) become (i, i + head_dim / 2).
"""
import argparse
import json
import os
import struct

import numpy as np


def to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def encode(x, dtype):
    x = np.asarray(x, dtype=np.float32)
    if dtype == "f32":
        return "F32", x.astype("<f4").tobytes()
    if dtype == "f16":
        return "F16", x.astype("<f2").tobytes()
    return "BF16", to_bf16_bits(x).astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype, order):
    header, blobs, offset = {}, [], 0
    for name in order:
        code, data = encode(tensors[name], dtype)
        header[name] = {"dtype": code, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)  # data 8-byte aligned, as safetensors does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_checkpoint(out, config, tensors, dtype, shards, shuffle, seed=0):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    names = list(tensors)
    if shuffle:
        np.random.default_rng(seed).shuffle(names)
    if shards <= 1:
        write_safetensors(os.path.join(out, "model.safetensors"), tensors, dtype, names)
        return
    parts = np.array_split(np.array(names, dtype=object), shards)
    weight_map = {}
    for i, part in enumerate(parts):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(out, file), tensors, dtype, list(part))
        for name in part:
            weight_map[name] = file
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


def hf_permute(w, heads):
    """Meta/llama2.c interleaved rows -> HF rotate-half rows, per head."""
    rows, cols = w.shape
    return w.reshape(heads, rows // heads // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def load_llama2c(path):
    """The tensors of a llama2.c checkpoint in Meta's layout and its shape."""
    raw = np.fromfile(path, dtype=np.uint8)
    dim, hidden, layers, heads, kv_heads, vocab, seq = (
        int(v) for v in np.frombuffer(raw[:28].tobytes(), dtype=np.int32))
    shared = vocab > 0
    vocab = abs(vocab)
    f = np.frombuffer(raw[28:].tobytes(), dtype="<f4")
    kv_dim = dim * kv_heads // heads
    head = dim // heads
    o = 0

    def take(*shape):
        nonlocal o
        n = int(np.prod(shape))
        t = f[o:o + n].reshape(shape)
        o += n
        return t

    m = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
             vocab=vocab, seq=seq, shared=shared)
    m["emb"] = take(vocab, dim)
    m["rms_att"] = take(layers, dim)
    m["wq"] = take(layers, dim, dim)
    m["wk"] = take(layers, kv_dim, dim)
    m["wv"] = take(layers, kv_dim, dim)
    m["wo"] = take(layers, dim, dim)
    m["rms_ffn"] = take(layers, dim)
    m["w1"] = take(layers, hidden, dim)
    m["w2"] = take(layers, dim, hidden)
    m["w3"] = take(layers, hidden, dim)
    m["rms_final"] = take(dim)
    take(seq * head // 2)
    take(seq * head // 2)
    m["cls"] = m["emb"] if shared else take(vocab, dim)
    return m


def stories(args):
    m = load_llama2c(args.checkpoint)
    dim, hidden, layers, heads, kv_heads, vocab, seq, shared = (
        m[k] for k in ("dim", "hidden", "layers", "heads", "kv_heads", "vocab", "seq", "shared"))
    emb, rms_att, wq, wk, wv, wo = (m[k] for k in ("emb", "rms_att", "wq", "wk", "wv", "wo"))
    rms_ffn, w1, w2, w3, rms_final, cls = (m[k] for k in ("rms_ffn", "w1", "w2", "w3", "rms_final", "cls"))
    t = {"model.embed_tokens.weight": emb, "model.norm.weight": rms_final}
    tied = shared and not args.untied
    if not tied:
        t["lm_head.weight"] = cls
    for l in range(layers):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = rms_att[l]
        t[p + "post_attention_layernorm.weight"] = rms_ffn[l]
        t[p + "self_attn.q_proj.weight"] = hf_permute(wq[l], heads)
        t[p + "self_attn.k_proj.weight"] = hf_permute(wk[l], kv_heads)
        t[p + "self_attn.v_proj.weight"] = wv[l]
        t[p + "self_attn.o_proj.weight"] = wo[l]
        t[p + "mlp.gate_proj.weight"] = w1[l]
        t[p + "mlp.up_proj.weight"] = w3[l]
        t[p + "mlp.down_proj.weight"] = w2[l]
    config = {
        "architectures": [args.arch or "LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": dim, "intermediate_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "vocab_size": vocab,
        "max_position_embeddings": seq, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": tied, "rope_scaling": None,
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[args.dtype],
    }
    if args.sliding_window:
        config["sliding_window"] = args.sliding_window
    write_checkpoint(args.out, config, t, args.dtype, args.shards, args.shuffle)


def qwen2_model(arch=None):
    """A random model with Qwen2's features: q/k/v biases, rope_theta 1e6,
    grouped-query attention, head_dim not equal to hidden_size / heads,
    tied embeddings."""
    rng = np.random.default_rng(1234)
    dim, hidden, layers, heads, kv_heads, head, vocab, seq = 64, 96, 2, 4, 2, 24, 101, 48

    def w(*shape, scale=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    t = {"model.embed_tokens.weight": w(vocab, dim, scale=1.0),
         "model.norm.weight": (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32)}
    for l in range(layers):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32)
        t[p + "post_attention_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32)
        t[p + "self_attn.q_proj.weight"] = w(heads * head, dim)
        t[p + "self_attn.q_proj.bias"] = w(heads * head, scale=0.5)
        t[p + "self_attn.k_proj.weight"] = w(kv_heads * head, dim)
        t[p + "self_attn.k_proj.bias"] = w(kv_heads * head, scale=0.5)
        t[p + "self_attn.v_proj.weight"] = w(kv_heads * head, dim)
        t[p + "self_attn.v_proj.bias"] = w(kv_heads * head, scale=0.5)
        t[p + "self_attn.o_proj.weight"] = w(dim, heads * head)
        t[p + "mlp.gate_proj.weight"] = w(hidden, dim)
        t[p + "mlp.up_proj.weight"] = w(hidden, dim)
        t[p + "mlp.down_proj.weight"] = w(dim, hidden)
    config = {
        "architectures": [arch or "Qwen2ForCausalLM"], "model_type": "qwen2",
        "hidden_size": dim, "intermediate_size": hidden, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": head,
        "vocab_size": vocab, "max_position_embeddings": seq, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "hidden_act": "silu", "tie_word_embeddings": True,
        "use_sliding_window": False, "sliding_window": 32, "max_window_layers": 2,
    }
    return config, t


def qwen2(args):
    config, t = qwen2_model(args.arch)
    write_checkpoint(args.out, config, t, args.dtype, args.shards, args.shuffle)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stories")
    s.add_argument("checkpoint")
    s.add_argument("out")
    q = sub.add_parser("qwen2")
    q.add_argument("out")
    for a in (s, q):
        a.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
        a.add_argument("--shards", type=int, default=1)
        a.add_argument("--shuffle", action="store_true")
        a.add_argument("--arch")
    s.add_argument("--untied", action="store_true")
    s.add_argument("--sliding-window", type=int, default=0,
                   help="write config.json's sliding_window (Mistral)")
    args = p.parse_args()
    stories(args) if args.cmd == "stories" else qwen2(args)


if __name__ == "__main__":
    main()
