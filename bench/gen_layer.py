#!/usr/bin/env python3
"""Writes one qnt benchmark layer: an MLIR module and the same weights as raw bytes.

The module holds `func.func @<name>(%x: tensor<?xKxf32>) -> tensor<?xNxf32>`
(with llvm.emit_c_interface) made of one qnt.constant, whose codes and scales
are dense_resource blobs, and one qnt.matmul. M is dynamic, so one compiled
kernel serves every M. Codes are random (fixed seed) and packed row by row,
LSB first (docs/BIT_LAYOUT.md), independently of qnt's own packing code.

The .bin file holds the same payload for the C++ harness's fp32 baseline:
a 32-byte header (magic "QNTBENCH", then int64 N, K, bits, group; group 0 =
per channel), the packed codes [N, ceil(K*bits/8)] as bytes, then the scales
[N, K/group] (or [N, 1]) as little-endian f32.
"""
import argparse
import struct

import numpy as np


def pack_rows(codes, bits):
    """Packs codes [N, K] (masked to `bits`, K*bits % 8 == 0) LSB first."""
    n, k = codes.shape
    per_byte = 8 // bits
    assert 8 % bits == 0 and k % per_byte == 0
    c = codes.astype(np.uint8).reshape(n, k // per_byte, per_byte)
    out = np.zeros((n, k // per_byte), dtype=np.uint8)
    for p in range(per_byte):
        out |= (c[:, :, p] << (p * bits)).astype(np.uint8)
    return out


def blob_hex(arr, align=64):
    # dense_resource blobs start with a 4-byte little-endian alignment.
    return "0x" + struct.pack("<I", align).hex() + np.ascontiguousarray(arr).tobytes().hex()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--bits", type=int, choices=[2, 4, 8], required=True)
    p.add_argument("--group", type=int, default=0, help="group size along K; 0 = per channel")
    p.add_argument("--name", required=True, help="function name")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--mlir", required=True)
    p.add_argument("--bin", help="raw payload for the harness")
    a = p.parse_args()
    n, k, bits, g = a.n, a.k, a.bits, a.group
    rng = np.random.default_rng(a.seed)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    codes = rng.integers(lo, hi + 1, size=(n, k), dtype=np.int16)
    if g:
        assert k % g == 0
        gran, sshape = f"per_group<1, {g}>", (n, k // g)
    else:
        gran, sshape = "per_channel<0>", (n, 1)
    scales = rng.uniform(0.01, 0.1, size=sshape).astype(np.float32)
    packed = pack_rows(codes & ((1 << bits) - 1), bits)
    rb = packed.shape[1]
    ptype = f"!qnt.packed<{n}x{k}, #qnt.scheme<si{bits}, symmetric, {gran}>>"
    xt, yt = f"tensor<?x{k}xf32>", f"tensor<?x{n}xf32>"
    cname, sname = f"{a.name}_codes", f"{a.name}_scales"
    with open(a.mlir, "w") as f:
        f.write(f"// qnt benchmark layer {n}x{k} si{bits} {gran} (bench/gen_layer.py, seed {a.seed})\n")
        f.write(f"func.func @{a.name}(%x: {xt}) -> {yt} attributes {{llvm.emit_c_interface}} {{\n")
        f.write(f"  %w = qnt.constant {{codes = dense_resource<{cname}> : tensor<{n}x{rb}xi8>, "
                f"scales = dense_resource<{sname}> : tensor<{sshape[0]}x{sshape[1]}xf32>}} : {ptype}\n")
        f.write(f"  %y = qnt.matmul %x, %w : ({xt}, {ptype}) -> {yt}\n")
        f.write(f"  return %y : {yt}\n}}\n\n")
        f.write("{-#\n  dialect_resources: {\n    builtin: {\n")
        f.write(f'      {cname}: "{blob_hex(packed)}",\n')
        f.write(f'      {sname}: "{blob_hex(scales)}"\n')
        f.write("    }\n  }\n#-}\n")
    if a.bin:
        with open(a.bin, "wb") as f:
            f.write(b"QNTBENCH" + struct.pack("<4q", n, k, bits, g))
            f.write(packed.tobytes())
            f.write(scales.astype("<f4").tobytes())


if __name__ == "__main__":
    main()
