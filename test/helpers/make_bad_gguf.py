#!/usr/bin/env python3
"""Writes one broken GGUF file per refusal of quant-import's gguf reader:
make_bad_gguf.py OUT_DIR makes OUT_DIR/CASE.gguf for every CASE below, each a
tiny valid llama model (1 layer, dim 32, F32) with one thing wrong, written
byte by byte so that any field can be broken."""
import os
import struct
import sys

DIM, HIDDEN, HEADS, KV, VOCAB = 32, 64, 2, 1, 8


def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def u32(key, v):
    return (key, 4, struct.pack("<I", v))


def f32(key, v):
    return (key, 6, struct.pack("<f", v))


def string(key, v):
    return (key, 8, s(v))


def metadata(**over):
    m = [string("general.architecture", "llama"), u32("llama.context_length", 16),
         u32("llama.embedding_length", DIM), u32("llama.block_count", 1),
         u32("llama.feed_forward_length", HIDDEN), u32("llama.attention.head_count", HEADS),
         u32("llama.attention.head_count_kv", KV),
         f32("llama.attention.layer_norm_rms_epsilon", 1e-5), f32("llama.rope.freq_base", 10000.0)]
    out = []
    for key, t, v in m:
        if key in over:
            if over[key] is not None:
                out.append(over.pop(key))
        else:
            out.append((key, t, v))
    out += [v for v in over.values() if v is not None]
    return out


def tensors(drop=(), change=None):
    hd = DIM // HEADS
    t = [("token_embd.weight", [DIM, VOCAB]), ("output_norm.weight", [DIM]),
         ("blk.0.attn_norm.weight", [DIM]), ("blk.0.ffn_norm.weight", [DIM]),
         ("blk.0.attn_q.weight", [DIM, HEADS * hd]), ("blk.0.attn_k.weight", [DIM, KV * hd]),
         ("blk.0.attn_v.weight", [DIM, KV * hd]), ("blk.0.attn_output.weight", [HEADS * hd, DIM]),
         ("blk.0.ffn_gate.weight", [DIM, HIDDEN]), ("blk.0.ffn_up.weight", [DIM, HIDDEN]),
         ("blk.0.ffn_down.weight", [HIDDEN, DIM])]
    out = []
    for name, dims in t:
        if name in drop:
            continue
        entry = {"name": name, "dims": dims, "type": 0}
        if change and name in change:
            entry.update(change[name])
        out.append(entry)
    return out


SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 12: (256, 144)}


def build(meta, tens, version=3, alignment=32, magic=b"GGUF", counts=None):
    infos, data, offset = b"", b"", 0
    for t in tens:
        n = 1
        for d in t["dims"]:
            n *= d
        block, size = SIZES.get(t["type"], (1, 4))
        nbytes = t.get("bytes", n // block * size if n % block == 0 else 0)
        off = t.get("offset", offset)
        infos += s(t["name"]) + struct.pack("<I", t.get("rank", len(t["dims"])))
        infos += b"".join(struct.pack("<Q", d) for d in t["dims"])
        infos += struct.pack("<IQ", t["type"], off)
        pad = -nbytes % alignment
        data += b"\0" * (nbytes + pad)
        offset += nbytes + pad
    kvs = b"".join(s(k) + struct.pack("<I", t) + v for k, t, v in meta)
    nt, nk = counts if counts else (len(tens), len(meta))
    head = magic + struct.pack("<IQQ", version, nt, nk) + kvs + infos
    head += b"\0" * (-len(head) % alignment)
    return head + data


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = {}
    cases["good"] = build(metadata(), tensors())
    # Header.
    cases["short"] = b"GG"
    cases["magic"] = b"GGML" + b"\0" * 20
    cases["version"] = build(metadata(), tensors(), version=1)
    cases["no-version"] = b"GGUF"
    cases["kv-count"] = build(metadata(), tensors(), counts=(11, 1 << 40))
    cases["tensor-count"] = build(metadata(), tensors(), counts=(1 << 40, 9))
    # Metadata.
    cases["key-length"] = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60)
    cases["long-key"] = build([("k" * 65536, 4, struct.pack("<I", 1))], [])
    cases["value-type"] = build(metadata(extra=("x.bad", 13, b"")), tensors())
    cases["nested-array"] = build(metadata(extra=("x.a", 9, struct.pack("<IQ", 9, 1))), tensors())
    cases["array-type"] = build(metadata(extra=("x.a", 9, struct.pack("<IQ", 77, 1))), tensors())
    cases["array-length"] = build(metadata(extra=("x.a", 9, struct.pack("<IQ", 4, 1 << 62))), tensors())
    cases["string-array"] = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("x.a") +
                             struct.pack("<IIQ", 9, 8, 3) + s("a"))
    cases["duplicate-key"] = build(metadata(extra=u32("llama.block_count", 1)), tensors())
    cases["alignment-type"] = build(metadata(extra=string("general.alignment", "32")), tensors())
    cases["alignment"] = build(metadata(extra=u32("general.alignment", 24)), tensors())
    # Tensor directory.
    cases["tensor-name"] = build(metadata(), tensors(change={"output_norm.weight": {"name": "n" * 300}}))
    cases["rank"] = build(metadata(), tensors(change={"output_norm.weight": {"rank": 5, "dims": [DIM, 1, 1, 1, 1]}}))
    cases["dimension"] = build(metadata(), tensors(change={"output_norm.weight": {"dims": [0]}}))
    cases["elements"] = build(metadata(), tensors(change={"output_norm.weight": {"dims": [1 << 30, 1 << 30], "bytes": 0}}))
    cases["type"] = build(metadata(), tensors(change={"output_norm.weight": {"type": 99}}))
    cases["blocks"] = build(metadata(), tensors(change={"output_norm.weight": {"type": 8, "dims": [20], "bytes": 34}}))
    cases["offset"] = build(metadata(), tensors(change={"output_norm.weight": {"offset": 4}}))
    cases["duplicate-tensor"] = build(metadata(), tensors(change={"output_norm.weight": {"name": "token_embd.weight"}}))
    cases["past-end"] = build(metadata(), tensors(change={"blk.0.ffn_down.weight": {"offset": 1 << 20}}))
    # Model metadata.
    cases["no-arch"] = build(metadata(**{"general.architecture": None}), tensors())
    cases["arch-type"] = build(metadata(**{"general.architecture": u32("general.architecture", 1)}), tensors())
    cases["arch"] = build(metadata(**{"general.architecture": string("general.architecture", "gpt2")}), tensors())
    cases["no-dim"] = build(metadata(**{"llama.embedding_length": None}), tensors())
    cases["zero-layers"] = build(metadata(**{"llama.block_count": u32("llama.block_count", 0)}), tensors())
    cases["huge-dim"] = build(metadata(**{"llama.embedding_length": u32("llama.embedding_length", 1 << 17)}), tensors())
    cases["dim-type"] = build(metadata(**{"llama.embedding_length": f32("llama.embedding_length", 32.0)}), tensors())
    cases["kv"] = build(metadata(**{"llama.attention.head_count": u32("llama.attention.head_count", 4),
                                    "llama.attention.head_count_kv": u32("llama.attention.head_count_kv", 3)}), tensors())
    cases["heads"] = build(metadata(**{"llama.attention.head_count": u32("llama.attention.head_count", 3),
                                       "llama.attention.head_count_kv": u32("llama.attention.head_count_kv", 1)}), tensors())
    cases["value-length"] = build(metadata(k=u32("llama.attention.key_length", 16),
                                           v=u32("llama.attention.value_length", 8)), tensors())
    cases["odd-head"] = build(metadata(k=u32("llama.attention.key_length", 15)), tensors())
    cases["qdim"] = build(metadata(**{"llama.attention.head_count": u32("llama.attention.head_count", 1024)},
                                   k=u32("llama.attention.key_length", 4096)), tensors())
    cases["rope-dims"] = build(metadata(r=u32("llama.rope.dimension_count", 8)), tensors())
    cases["no-eps"] = build(metadata(**{"llama.attention.layer_norm_rms_epsilon": None}), tensors())
    cases["eps-type"] = build(metadata(**{"llama.attention.layer_norm_rms_epsilon":
                                          u32("llama.attention.layer_norm_rms_epsilon", 0)}), tensors())
    cases["eps"] = build(metadata(**{"llama.attention.layer_norm_rms_epsilon":
                                     f32("llama.attention.layer_norm_rms_epsilon", 2.0)}), tensors())
    cases["theta"] = build(metadata(**{"llama.rope.freq_base": f32("llama.rope.freq_base", 0.5)}), tensors())
    cases["rope-scaling"] = build(metadata(x=string("llama.rope.scaling.type", "linear")), tensors())
    # Tensors of the model.
    cases["no-embedding"] = build(metadata(), tensors(drop=["token_embd.weight"]))
    cases["embedding-dims"] = build(metadata(), tensors(change={"token_embd.weight": {"dims": [VOCAB, DIM]}}))
    cases["vocab"] = build(metadata(**{"llama.embedding_length": u32("llama.embedding_length", 2),
                                       "llama.attention.head_count": u32("llama.attention.head_count", 1),
                                       "llama.attention.head_count_kv": u32("llama.attention.head_count_kv", 1)}),
                           [{"name": "token_embd.weight", "dims": [2, (1 << 22) + 1], "type": 1}])
    cases["vocab-size"] = build(metadata(x=u32("llama.vocab_size", 9)), tensors())
    cases["missing"] = build(metadata(), tensors(drop=["blk.0.attn_q.weight"]))
    cases["dims"] = build(metadata(), tensors(change={"blk.0.ffn_up.weight": {"dims": [HIDDEN, DIM]}}))
    cases["weight-type"] = build(metadata(), tensors(change={"blk.0.ffn_up.weight": {"type": 9, "bytes": HIDDEN * 36}}))
    cases["norm-type"] = build(metadata(), tensors(change={"output_norm.weight": {"type": 8}}))
    for name, content in cases.items():
        with open(os.path.join(out, name + ".gguf"), "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main()
