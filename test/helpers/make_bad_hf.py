#!/usr/bin/env python3
"""Writes one broken Hugging Face checkpoint directory per refusal of
quant-import's hf reader: make_bad_hf.py OUT_DIR makes OUT_DIR/CASE for every
CASE below, each a tiny valid model (2 layers, dim 8) with one thing wrong."""
import copy
import json
import os
import struct
import sys

import numpy as np

DIM, HIDDEN, LAYERS, HEADS, KV, VOCAB = 8, 16, 2, 2, 1, 11

CONFIG = {"architectures": ["LlamaForCausalLM"], "hidden_size": DIM,
          "intermediate_size": HIDDEN, "num_hidden_layers": LAYERS,
          "num_attention_heads": HEADS, "num_key_value_heads": KV,
          "vocab_size": VOCAB, "max_position_embeddings": 16,
          "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
          "tie_word_embeddings": True}


def tensors():
    hd = DIM // HEADS
    t = {"model.embed_tokens.weight": (VOCAB, DIM), "model.norm.weight": (DIM,)}
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = (DIM,)
        t[p + "post_attention_layernorm.weight"] = (DIM,)
        t[p + "self_attn.q_proj.weight"] = (HEADS * hd, DIM)
        t[p + "self_attn.k_proj.weight"] = (KV * hd, DIM)
        t[p + "self_attn.v_proj.weight"] = (KV * hd, DIM)
        t[p + "self_attn.o_proj.weight"] = (DIM, HEADS * hd)
        t[p + "mlp.gate_proj.weight"] = (HIDDEN, DIM)
        t[p + "mlp.up_proj.weight"] = (HIDDEN, DIM)
        t[p + "mlp.down_proj.weight"] = (DIM, HIDDEN)
    return t


def header_and_data(shapes, dtype="F32"):
    header, offset, data = {}, 0, b""
    for name, shape in shapes.items():
        n = int(np.prod(shape)) * (4 if dtype == "F32" else 2)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        data += b"\0" * n
        offset += n
    return header, data


def pack(header_bytes, data):
    header_bytes += b" " * (-(8 + len(header_bytes)) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data


def write(out, case, config=CONFIG, files=None):
    d = os.path.join(out, case)
    os.makedirs(d, exist_ok=True)
    if config is not None:
        with open(os.path.join(d, "config.json"), "w" if isinstance(config, str) else "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config))
    if files is None:
        h, data = header_and_data(tensors())
        files = {"model.safetensors": pack(json.dumps(h).encode(), data)}
    for name, content in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)


def with_config(**changes):
    c = copy.deepcopy(CONFIG)
    for k, v in changes.items():
        if v is DELETE:
            c.pop(k, None)
        else:
            c[k] = v
    return c


DELETE = object()


def with_header(edit, dtype="F32", data_extra=b""):
    h, data = header_and_data(tensors(), dtype)
    edit(h)
    return {"model.safetensors": pack(json.dumps(h).encode(), data + data_extra)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(out, "good")
    # config.json
    write(out, "no-config", config=None)
    write(out, "config-not-json", config="{\"hidden_size\": ")
    write(out, "config-deep", config="[" * 100 + "]" * 100)
    write(out, "config-array", config="[1, 2]")
    write(out, "config-huge", config="{" + " " * (17 << 20) + "}")
    write(out, "arch", with_config(architectures=["GPT2LMHeadModel"]))
    write(out, "arch-empty", with_config(architectures=[]))
    write(out, "no-arch", with_config(architectures=DELETE))
    write(out, "model-type", with_config(architectures=DELETE, model_type="gpt2"))
    write(out, "no-hidden", with_config(hidden_size=DELETE))
    write(out, "zero-hidden", with_config(hidden_size=0))
    write(out, "huge-hidden", with_config(hidden_size=100000))
    write(out, "float-hidden", with_config(hidden_size=8.5))
    write(out, "string-hidden", with_config(hidden_size="8"))
    write(out, "big-double", with_config(vocab_size=1e300))
    write(out, "kv", with_config(num_attention_heads=8, num_key_value_heads=3))
    write(out, "heads", with_config(num_attention_heads=3, num_key_value_heads=1))
    write(out, "odd-head-dim", with_config(head_dim=7))
    write(out, "qdim", with_config(num_attention_heads=1024, num_key_value_heads=1, head_dim=4096))
    write(out, "rope-scaling", with_config(rope_scaling={"type": "linear", "factor": 2.0}))
    write(out, "act", with_config(hidden_act="gelu"))
    write(out, "eps", with_config(rms_norm_eps=-1))
    write(out, "theta", with_config(rope_theta="big"))
    write(out, "mlp-bias", with_config(mlp_bias=True))
    write(out, "attention-bias", with_config(attention_bias=True))
    write(out, "window", with_config(architectures=["MistralForCausalLM"], sliding_window=-4))
    # safetensors
    write(out, "no-weights", files={})
    write(out, "short", files={"model.safetensors": b"\x01\x02\x03\x04\x05"})
    write(out, "header-limit", files={"model.safetensors": struct.pack("<Q", 100000001) + b"{}"})
    write(out, "header-past-end", files={"model.safetensors": struct.pack("<Q", 64) + b"{}"})
    write(out, "header-json", files={"model.safetensors": pack(b"{\"a\": [1,", b"")})
    write(out, "header-array", files={"model.safetensors": pack(b"[]", b"")})
    first = "model.embed_tokens.weight"

    def set_field(field, value):
        def edit(h):
            if value is DELETE:
                del h[first][field]
            else:
                h[first][field] = value
        return edit

    write(out, "entry", files=with_header(lambda h: h.__setitem__(first, 5)))
    write(out, "no-dtype", files=with_header(set_field("dtype", DELETE)))
    write(out, "dtype", files=with_header(set_field("dtype", "Q4")))
    write(out, "no-shape", files=with_header(set_field("shape", DELETE)))
    write(out, "rank", files=with_header(set_field("shape", [1] * 9)))
    write(out, "dim", files=with_header(set_field("shape", [11, -8])))
    write(out, "shape-overflow", files=with_header(set_field("shape", [1 << 40, 1 << 40])))
    write(out, "no-offsets", files=with_header(set_field("data_offsets", DELETE)))
    write(out, "offsets-order", files=with_header(set_field("data_offsets", [8, 4])))
    write(out, "offsets-end", files=with_header(set_field("data_offsets", [0, 1 << 40])))
    write(out, "offsets-size", files=with_header(set_field("data_offsets", [0, 348])))
    write(out, "misaligned", files=with_header(set_field("data_offsets", [2, 354]), data_extra=b"\0" * 8))
    write(out, "missing", files=with_header(lambda h: h.pop("model.norm.weight")))
    write(out, "int-dtype", files=with_header(set_field("dtype", "I32")))
    write(out, "bad-shape", files=with_header(set_field("shape", [DIM, VOCAB])))
    # the shard index
    write(out, "index-json", files={"model.safetensors.index.json": "{"})
    write(out, "index-map", files={"model.safetensors.index.json": "{\"metadata\": {}}"})
    write(out, "index-path", files={"model.safetensors.index.json":
                                    json.dumps({"weight_map": {first: "../model.safetensors"}})})
    write(out, "index-shard", files={"model.safetensors.index.json":
                                     json.dumps({"weight_map": {first: "model-00001-of-00002.safetensors"}})})
    write(out, "index-many", files={"model.safetensors.index.json": json.dumps(
        {"weight_map": {f"t{i}": f"shard{i}.safetensors" for i in range(4097)}})})
    h, data = header_and_data(tensors())
    write(out, "index-absent", files={
        "model.safetensors.index.json": json.dumps({"weight_map": dict(
            [(n, "a.safetensors") for n in h] + [("model.extra.weight", "a.safetensors")])}),
        "a.safetensors": pack(json.dumps(h).encode(), data)})
    with open(os.path.join(out, "not-a-directory"), "w") as f:
        f.write("x")


if __name__ == "__main__":
    main()
