#!/usr/bin/env python3
"""Writes one qnt benchmark layer: an MLIR module and the same weights as raw bytes.

The module holds `func.func @<name>(%x: tensor<?xKxf32>) -> tensor<?xNxf32>`
(with llvm.emit_c_interface) made of one qnt.constant, whose codes and scales
are dense_resource blobs, and one qnt.matmul. M is dynamic, so one compiled
kernel serves every M. Codes are random (fixed seed) and packed row by row,
LSB first (docs/BIT_LAYOUT.md), independently of qnt's own packing code.

With --format nf4, lut4 or fp8 the codes are NF4 or lut4 indices or finite
fp8 E4M3FN bit patterns (random, fixed seed) and the scheme is that
format's (lut4's codebook: NF4's values squared, signs kept). With
--format mxfp4 or nvfp4 they are e2m1 codes with the format's block
scales (E8M0 bytes 118..130; E4M3 bytes 0x01..0x7E and an f32 tensor
scale), and the payload's scales are their decoded values (times the
tensor scale).

The .bin file holds the same payload for the C++ harness's fp32 baseline:
a 32-byte header (magic "QNTBENC2", then int64 N, K, bits, group; group 0 =
per channel), the value of each of the 2^bits code patterns as
little-endian f32 (what the harness decodes codes with, so it needs no
knowledge of the formats), the packed codes [N, ceil(K*bits/8)] as bytes,
then the scales [N, K/group] (or [N, 1]) as little-endian f32.
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


# NF4 (QLoRA's code book): code i means NF4_VALUES[i].
NF4_VALUES = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
              -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
              0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
              0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
              0.7229568362236023, 1.0]


def fp8_e4m3_value(c):
    """An E4M3FN bit pattern's value (0x7F and 0xFF, NaN, are never drawn)."""
    sign = -1.0 if c & 0x80 else 1.0
    e, f = (c >> 3) & 15, c & 7
    return sign * (2.0 ** -6 * f / 8 if e == 0 else 2.0 ** (e - 7) * (1 + f / 8))


def e2m1_value(c):
    """An fp4 E2M1 code's value (OCP MX): sign bit 3, exponent bits 2-1
    (bias 1, 0 subnormal), mantissa bit 0."""
    sign = -1.0 if c & 8 else 1.0
    e, m = (c >> 1) & 3, c & 1
    return sign * (m * 0.5 if e == 0 else (1 + m / 2) * 2.0 ** (e - 1))


# The fp4 block formats: block size, scale type.
FP4 = {"mxfp4": (32, "f8E8M0FNU"), "nvfp4": (16, "f8E4M3FN")}


# lut4's table in the benchmark: NF4's values squared towards 0 (a table
# that is not NF4's; the kernels take any, at the same cost).
LUT4_VALUES = [float(np.float32(np.sign(v) * v * v)) for v in NF4_VALUES]


def code_values(fmt, bits):
    """The value of each of the 2^bits code patterns."""
    if fmt == "nf4":
        return NF4_VALUES
    if fmt == "lut4":
        return LUT4_VALUES
    if fmt in FP4:
        return [e2m1_value(c) for c in range(16)]
    if fmt == "fp8":
        return [fp8_e4m3_value(c) if c & 0x7F != 0x7F else 0.0 for c in range(256)]
    return [c - (1 << bits) if c >= 1 << (bits - 1) else c for c in range(1 << bits)]


def blob_hex(arr, align=64):
    # dense_resource blobs start with a 4-byte little-endian alignment.
    return "0x" + struct.pack("<I", align).hex() + np.ascontiguousarray(arr).tobytes().hex()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--bits", type=int, choices=[2, 4, 8], required=True)
    p.add_argument("--format", choices=["int", "nf4", "lut4", "fp8", "mxfp4", "nvfp4"],
                   default="int",
                   help="integer codes, NF4 or lut4 indices (4 bits), fp8 E4M3FN (8 bits) "
                        "or e2m1 (4 bits) with mxfp4's or nvfp4's block scales")
    p.add_argument("--group", type=int, default=0, help="group size along K; 0 = per channel")
    p.add_argument("--name", required=True, help="function name")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--mlir", required=True)
    p.add_argument("--bin", help="raw payload for the harness")
    a = p.parse_args()
    n, k, bits, g = a.n, a.k, a.bits, a.group
    rng = np.random.default_rng(a.seed)
    fmt = a.format
    want = {"nf4": 4, "lut4": 4, "fp8": 8, "mxfp4": 4, "nvfp4": 4}.get(fmt, bits)
    if bits != want:
        raise SystemExit(f"--format {fmt} has {want} bits")
    if fmt in FP4 and g != FP4[fmt][0]:
        raise SystemExit(f"--format {fmt} has --group {FP4[fmt][0]}")
    if fmt in ("nf4", "lut4") or fmt in FP4:
        codes = rng.integers(0, 16, size=(n, k), dtype=np.int16)
    elif fmt == "fp8":
        finite = np.array([c for c in range(256) if c & 0x7F != 0x7F], dtype=np.int16)
        codes = finite[rng.integers(0, len(finite), size=(n, k))]
    else:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        codes = rng.integers(lo, hi + 1, size=(n, k), dtype=np.int16)
    if g:
        assert k % g == 0
        gran, sshape = f"per_group<1, {g}>", (n, k // g)
    else:
        gran, sshape = "per_channel<0>", (n, 1)
    scale_sfx, stype = "", "f32"
    if fmt == "mxfp4":
        scale_bytes = rng.integers(118, 131, size=sshape).astype(np.uint8)
        scales = (2.0 ** (scale_bytes.astype(np.float64) - 127)).astype(np.float32)
    elif fmt == "nvfp4":
        scale_bytes = rng.integers(1, 0x7F, size=sshape).astype(np.uint8)
        tensor_scale = float(np.float32(2.0 ** -9))
        scales = np.vectorize(lambda c: fp8_e4m3_value(int(c)))(scale_bytes)
        scales = (scales * tensor_scale).astype(np.float32)
        scale_sfx = f", tensor_scale = {tensor_scale!r}"
    else:
        scales = rng.uniform(0.01, 0.1, size=sshape).astype(np.float32)
    if fmt in FP4:
        stype = FP4[fmt][1]
        scale_sfx = f", scale = {stype}" + scale_sfx
    if fmt == "lut4":
        scale_sfx = ", codebook = array<f32: " + ", ".join(map(repr, LUT4_VALUES)) + ">"
    packed = pack_rows(codes & ((1 << bits) - 1), bits)
    rb = packed.shape[1]
    element = {"int": f"si{bits}", "nf4": "nf4", "lut4": "lut4", "fp8": "f8E4M3FN",
               "mxfp4": "f4E2M1FN", "nvfp4": "f4E2M1FN"}[fmt]
    ptype = f"!qnt.packed<{n}x{k}, #qnt.scheme<{element}, symmetric, {gran}{scale_sfx}>>"
    xt, yt = f"tensor<?x{k}xf32>", f"tensor<?x{n}xf32>"
    cname, sname = f"{a.name}_codes", f"{a.name}_scales"
    with open(a.mlir, "w") as f:
        f.write(f"// qnt benchmark layer {n}x{k} {element} {gran} (bench/gen_layer.py, seed {a.seed})\n")
        f.write(f"func.func @{a.name}(%x: {xt}) -> {yt} attributes {{llvm.emit_c_interface}} {{\n")
        f.write(f"  %w = qnt.constant {{codes = dense_resource<{cname}> : tensor<{n}x{rb}xi8>, "
                f"scales = dense_resource<{sname}> : tensor<{sshape[0]}x{sshape[1]}x"
                f"{stype}>}} : {ptype}\n")
        f.write(f"  %y = qnt.matmul %x, %w : ({xt}, {ptype}) -> {yt}\n")
        f.write(f"  return %y : {yt}\n}}\n\n")
        f.write("{-#\n  dialect_resources: {\n    builtin: {\n")
        f.write(f'      {cname}: "{blob_hex(packed)}",\n')
        f.write(f'      {sname}: "{blob_hex(scale_bytes if fmt in FP4 else scales)}"\n')
        f.write("    }\n  }\n#-}\n")
    if a.bin:
        with open(a.bin, "wb") as f:
            f.write(b"QNTBENC2" + struct.pack("<4q", n, k, bits, g))
            f.write(np.array(code_values(fmt, bits), dtype="<f4").tobytes())
            f.write(packed.tobytes())
            f.write(scales.astype("<f4").tobytes())


if __name__ == "__main__":
    main()
