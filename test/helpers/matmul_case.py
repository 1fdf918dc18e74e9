#!/usr/bin/env python3
"""Generates a qnt.matmul test program and checks its output against numpy.

`gen` writes an MLIR module whose @main runs one qnt.matmul on random packed
codes (packed here, in Python, from the bit layout in docs/BIT_LAYOUT.md, not
with qnt's own packing code) and prints the result; it also writes the
float64 reference y = x . dequant(W)^T (+ bias). `check` reads mlir-runner's
output on stdin and compares every element with the reference.
"""
import argparse
import re
import sys

import numpy as np


def pack_rows(codes, bits):
    """Packs integer codes [N, K] (already masked to `bits`) into bytes, LSB first."""
    n, k = codes.shape
    row_bytes = (k * bits + 7) // 8
    out = np.zeros((n, row_bytes), dtype=np.uint8)
    for r in range(n):
        acc = 0
        for i in range(k):
            acc |= int(codes[r, i]) << (i * bits)
        for j in range(row_bytes):
            out[r, j] = (acc >> (8 * j)) & 0xFF
    return out


# NF4 (QLoRA; bitsandbytes' code book): code i means NF4_VALUES[i], as f32.
NF4_VALUES = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
    0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0], dtype=np.float32).astype(np.float64)

FP8 = {"f8E4M3FN": (4, 3, 7), "f8E5M2": (5, 2, 15)}  # exponent bits, mantissa bits, bias


def fp8_value(code, fmt):
    """The value of an fp8 bit pattern, from the format's definition
    (IEEE-style, subnormals when the exponent field is 0)."""
    ebits, mbits, bias = FP8[fmt]
    sign = -1.0 if code & 0x80 else 1.0
    e = (code >> mbits) & ((1 << ebits) - 1)
    m = code & ((1 << mbits) - 1)
    if e == 0:
        return sign * m * 2.0 ** (1 - bias - mbits)
    return sign * (1 + m / 2.0 ** mbits) * 2.0 ** (e - bias)


def e2m1_value(code):
    """The value of an fp4 E2M1 code, from the field definition (OCP MX):
    sign bit 3, exponent bits 2-1 (bias 1; 0 is subnormal), mantissa bit 0."""
    sign = -1.0 if code & 8 else 1.0
    e, m = (code >> 1) & 3, code & 1
    if e == 0:
        return sign * m * 0.5
    return sign * (1 + m / 2.0) * 2.0 ** (e - 1)


# The fp4 block formats: (block size, scale type).
FP4 = {"mxfp4": (32, "f8E8M0FNU"), "nvfp4": (16, "f8E4M3FN")}


def fp8_finite_codes(fmt):
    """Every fp8 code that is a finite number."""
    if fmt == "f8E4M3FN":
        return [c for c in range(256) if c & 0x7F != 0x7F]
    return [c for c in range(256) if (c >> 2) & 31 != 31]


def random_codebook(rng):
    """A lut4 codebook as the verifier wants it: 16 increasing f32 values
    with a 0 and largest magnitude 1 (7 below 0, 8 above), drawn, so that
    nothing in the kernels can be NF4's values in disguise."""
    neg = -np.sort(rng.uniform(0.02, 1.0, 7))[::-1]
    pos = np.sort(rng.uniform(0.02, 1.0, 8))
    values = np.concatenate([neg, [0.0], pos])
    values = values / np.abs(values).max()
    return values.astype(np.float32).astype(np.float64)


def format_codes(rng, fmt, shape, codebook=None):
    """Random codes of a float or codebook format (never NaN or inf), and
    their values; the first rows hold the extremes."""
    if fmt in ("nf4", "lut4"):
        codes = rng.integers(0, 16, size=shape)
        codes[0, :] = 0
        if shape[0] > 1:
            codes[1, :] = 15
        return codes, (NF4_VALUES if fmt == "nf4" else codebook)[codes]
    if fmt in FP4:
        codes = rng.integers(0, 16, size=shape)
        codes[0, :] = 15  # -6
        if shape[0] > 1:
            codes[1, :] = 7  # 6
        return codes, np.vectorize(e2m1_value)(codes)
    finite = np.array(fp8_finite_codes(fmt))
    codes = finite[rng.integers(0, len(finite), size=shape)]
    top = max(finite[finite < 0x80], key=lambda c: fp8_value(c, fmt))
    codes[0, :] = top | 0x80  # the most negative value
    if shape[0] > 1:
        codes[1, :] = top
    if shape[0] > 2:
        codes[2, :] = rng.integers(0, 8, size=shape[1]) | 0x80 * rng.integers(0, 2, size=shape[1])  # subnormals
    values = np.vectorize(lambda c: fp8_value(int(c), fmt))(codes)
    return codes, values


def round_to(values, dtype):
    if dtype == "f32":
        return values.astype(np.float32).astype(np.float64)
    if dtype == "f16":
        return values.astype(np.float16).astype(np.float64)
    if dtype == "bf16":
        bits = values.astype(np.float32).view(np.uint32)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return bits.astype(np.uint32).view(np.float32).astype(np.float64)
    raise ValueError(dtype)


def quantize_activations(x, block=32):
    """x as the int8 kernels see it (activations=i8, docs/QUANTIZER.md): per
    row and block of `block` codes along the last axis, sx = max|x| / 127 and
    xq = roundeven(x * (127 / max|x|)) clamped to [-127, 127], computed in
    float32; returns sx * xq in float64."""
    x32 = x.astype(np.float32)
    k = x32.shape[-1]
    if k % block:
        raise SystemExit(f"--int8-activations needs K a multiple of {block}")
    blocks = x32.reshape(x32.shape[:-1] + (k // block, block))
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(np.clip((blocks * inv).astype(np.float32), -127, 127))
    sx = (amax / np.float32(127)).astype(np.float32)
    return (sx.astype(np.float64) * q.astype(np.float64)).reshape(x.shape)


def activation_block(requested, bits, group_codes):
    """The x block of an activations=i8 kernel (docs/QUANTIZER.md): with
    act-block 0, the largest of 128 and 64 dividing the group for codes of 4
    bits or fewer, else 32; otherwise the requested block where it divides
    the group, else 32."""
    if requested == 0:
        for block in (128, 64):
            if bits <= 4 and group_codes % block == 0:
                return block
        return 32
    return requested if group_codes % requested == 0 else 32


def mlir_float(v):
    # MLIR spells a NaN element by its bits (f32 only: --nan-x needs f32 x).
    return "0x7FC00000" if np.isnan(v) else repr(float(v))


def dense(values, fmt=mlir_float):
    arr = np.asarray(values)
    if arr.ndim == 0:
        return fmt(arr)
    return "[" + ", ".join(dense(a, fmt) for a in arr) + "]"


def gen(args):
    rng = np.random.default_rng(args.seed)
    n, k, m, bits, g = args.n, args.k, args.m, args.bits, args.group
    fmt = args.format
    if fmt != "int":
        bits = 4 if fmt in ("nf4", "lut4") or fmt in FP4 else 8
        if args.mode != "symmetric":
            raise SystemExit("--format fp8/fp4/nf4/lut4 is symmetric")
        if args.int8_activations and fmt not in FP4:
            raise SystemExit("--int8-activations takes --format int, mxfp4 or nvfp4")
    if fmt in FP4 and (g != FP4[fmt][0] or args.scale_type != "f32"):
        raise SystemExit(f"--format {fmt} has --group {FP4[fmt][0]} and its own scales")
    signed = args.mode == "symmetric" and fmt == "int"
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if fmt == "int":
        codes = rng.integers(lo, hi + 1, size=(n, k))
        # Extreme codes in the first rows so the ends of the range are exercised.
        codes[0, :] = lo
        if n > 1:
            codes[1, :] = hi
        values = codes.astype(np.float64)
    else:
        codebook = random_codebook(rng) if fmt == "lut4" else None
        codes, values = format_codes(rng, fmt, (n, k), codebook)
    if g == 0:
        gran, sshape, gsize = "per_channel<0>", (n, 1), k
    elif g < 0:
        gran, sshape, gsize = "per_tensor", (1, 1), k
    else:
        gran, sshape, gsize = f"per_group<1, {g}>", (n, k // g), g
    scale_type = args.scale_type
    tensor_scale = 1.0
    if fmt == "mxfp4":
        # E8M0 bytes b mean 2^(b - 127); byte 0 (2^-127, a float subnormal)
        # in the last group of the first row.
        scale_type = FP4[fmt][1]
        scales = 2.0 ** (rng.integers(118, 131, size=sshape) - 127.0)
        scales[0, -1] = 2.0 ** -127
    elif fmt == "nvfp4":
        # E4M3 bytes 0x01..0x7E (subnormals and 448 included) and an f32
        # tensor scale.
        scale_type = FP4[fmt][1]
        scales = np.vectorize(lambda c: fp8_value(int(c), "f8E4M3FN"))(
            rng.integers(1, 0x7F, size=sshape))
        scales[0, 0] = 448.0
        tensor_scale = float(np.float32(2.0 ** -9 / 3))
    else:
        scales = round_to(rng.uniform(0.01, 0.1, size=sshape), args.scale_type)
    offset = args.mode == "offset"
    zps = (rng.integers(lo, hi + 1, size=sshape) if args.mode == "asymmetric"
           else np.zeros(sshape, dtype=np.int64))
    offsets = (round_to(rng.uniform(-0.5, 0.5, size=sshape), args.scale_type) if offset
               else np.zeros(sshape))
    if offset and (args.bias or args.batch or not m or args.x_type != "f32" or args.dynamic_m):
        raise SystemExit("--mode offset takes f32 x [M, K], no bias, batch or dynamic M")

    sidx_n = np.arange(n) if sshape[0] == n else np.zeros(n, dtype=np.int64)
    w = np.zeros((n, k))
    for r in range(n):
        for c in range(k):
            gi = 0 if sshape[1] == 1 else c // gsize
            w[r, c] = (tensor_scale * scales[sidx_n[r], gi] * (values[r, c] - zps[sidx_n[r], gi])
                       + offsets[sidx_n[r], gi])

    batch = [args.batch] if args.batch else []
    xshape = batch + ([m] if m else []) + [k]
    x = rng.uniform(-1, 1, size=xshape)
    if args.int8_activations:
        # An all-zero block, an outlier block and a tiny block exercise the
        # x scales.
        x.reshape(-1, k)[0, :32] = 0
        x.reshape(-1, k)[-1, 32:64] *= 50
        if k >= 96:
            x.reshape(-1, k)[-1, 64:96] *= 1e-3
    if args.nan_x:
        if args.x_type != "f32":
            raise SystemExit("--nan-x needs --x-type f32")
        x.reshape(-1, k)[0, k // 2] = np.nan
    x = round_to(x, args.x_type)
    bias = round_to(rng.uniform(-1, 1, size=(n,)), args.x_type) if args.bias else None
    if args.int8_activations:
        xr = quantize_activations(x, activation_block(args.act_block, bits, gsize))
    else:
        xr = x
    ref = xr @ w.T
    absref = np.abs(xr) @ np.abs(w).T
    if offset:
        # The offsets' products are summed apart from the codes' (x's group
        # sums times the offsets): rounding scales with |s * c| + |o|.
        parts = np.abs(w - np.repeat(np.repeat(offsets, n // sshape[0], 0), k // sshape[1], 1)) \
            + np.abs(np.repeat(np.repeat(offsets, n // sshape[0], 0), k // sshape[1], 1))
        absref = np.abs(xr) @ parts.T
    if args.int8_activations:
        # The integer kernels sum codes shifted to unsigned and subtract the
        # shift and zero point once per group: their f32 rounding scales with
        # scale * 2^bits, not with |w|.
        shifted = np.zeros((n, k))
        for r in range(n):
            for c in range(k):
                gi = 0 if sshape[1] == 1 else c // gsize
                shifted[r, c] = abs(tensor_scale * scales[sidx_n[r], gi]) * (1 << bits)
        absref = absref + np.abs(xr) @ shifted.T
    if bias is not None:
        ref = ref + bias
        absref = absref + np.abs(bias)
    # f32 additions on the way to one output: K for f32 activations; with
    # int8 activations one per block at most (the integer sums are exact)
    # plus the reduction of the lanes.
    # (fp4: one per group of 16 or 32 and its correction).
    f32_terms = (2 * (k // min(32, gsize)) if fmt in FP4 else k // 32) + 16 \
        if args.int8_activations else k
    np.savez(args.ref, ref=ref, absref=absref, x_type=args.x_type, f32_terms=f32_terms)

    packed = pack_rows(np.asarray(codes) & ((1 << bits) - 1), bits)
    sign = "si" if signed else "ui"
    scale_sfx = "" if scale_type == "f32" else f", scale = {scale_type}"
    if fmt == "nvfp4":
        scale_sfx += f", tensor_scale = {tensor_scale!r}"
    if fmt == "lut4":
        scale_sfx += ", codebook = array<f32: " + ", ".join(
            repr(float(v)) for v in codebook) + ">"
    elem = f"{sign}{bits}" if fmt == "int" else "f4E2M1FN" if fmt in FP4 else fmt
    scheme = f"#qnt.scheme<{elem}, {args.mode}, {gran}{scale_sfx}>"
    ptype = f"!qnt.packed<{n}x{k}, {scheme}>"
    xt = args.x_type
    xtype = "tensor<" + "x".join(map(str, xshape)) + f"x{xt}>"
    yshape = xshape[:-1] + [n]
    ytype = "tensor<" + "x".join(map(str, yshape)) + f"x{xt}>"
    yf32 = "tensor<" + "x".join(map(str, yshape)) + "xf32>"
    codes_i8 = packed.astype(np.int8)
    zp_attr = ""
    if args.mode == "asymmetric":
        zp_attr = f", zero_points = dense<{dense(zps, str)}> : tensor<{sshape[0]}x{sshape[1]}xui8>"
    if offset:
        zp_attr = f", offsets = dense<{dense(offsets)}> : tensor<{sshape[0]}x{sshape[1]}x{args.scale_type}>"
    # @layer's own types: with --dynamic-m the row dimension of x and y is
    # unknown at compile time, as in real models (bench/gen_layer.py).
    lxtype, lytype = xtype, ytype
    if args.dynamic_m:
        if not m:
            raise SystemExit("--dynamic-m needs --m > 0")
        dyn = lambda shape, et: "tensor<" + "x".join(
            "?" if i == len(shape) - 2 else str(d) for i, d in enumerate(shape)) + f"x{et}>"
        lxtype, lytype = dyn(xshape, xt), dyn(yshape, xt)
    lines = []
    lines.append(f"func.func private @printMemrefF32(tensor<*xf32>)")
    bias_arg = f", %b: tensor<{n}x{xt}>" if bias is not None else ""
    lines.append(f"func.func @layer(%x: {lxtype}{bias_arg}) -> {lytype} {{")
    lines.append(f"  %w = qnt.constant {{codes = dense<{dense(codes_i8, str)}> : tensor<{n}x{packed.shape[1]}xi8>, "
                 f"scales = dense<{dense(scales)}> : tensor<{sshape[0]}x{sshape[1]}x{scale_type}>{zp_attr}}} : {ptype}")
    if offset:
        lines.append(f"  %d = qnt.dequantize %w : {ptype} -> tensor<{n}x{k}xf32>")
        lines.append(f"  %zero = arith.constant 0.0 : f32")
        lines.append(f"  %e = tensor.empty() : {ytype}")
        lines.append(f"  %init = linalg.fill ins(%zero : f32) outs(%e : {ytype}) -> {ytype}")
        lines.append("  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, "
                     "affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] "
                     f"ins(%x, %d : {xtype}, tensor<{n}x{k}xf32>) outs(%init : {ytype}) -> {ytype}")
    elif bias is not None:
        lines.append(f"  %y = qnt.matmul %x, %w, %b : ({lxtype}, {ptype}, tensor<{n}x{xt}>) -> {lytype}")
    else:
        lines.append(f"  %y = qnt.matmul %x, %w : ({lxtype}, {ptype}) -> {lytype}")
    lines.append(f"  return %y : {lytype}")
    lines.append("}")
    if args.layer_only:
        lines = lines[1:]
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        return
    lines.append("func.func @main() {")
    lines.append(f"  %x = arith.constant dense<{dense(x)}> : {xtype}")
    call_args = "%x"
    call_types = lxtype
    if args.dynamic_m:
        lines.append(f"  %xd = tensor.cast %x : {xtype} to {lxtype}")
        call_args = "%xd"
    if bias is not None:
        lines.append(f"  %b = arith.constant dense<{dense(bias)}> : tensor<{n}x{xt}>")
        call_args += ", %b"
        call_types += f", tensor<{n}x{xt}>"
    if args.dynamic_m:
        lines.append(f"  %yd = call @layer({call_args}) : ({call_types}) -> {lytype}")
        lines.append(f"  %y = tensor.cast %yd : {lytype} to {ytype}")
    else:
        lines.append(f"  %y = call @layer({call_args}) : ({call_types}) -> {ytype}")
    if xt != "f32":
        lines.append(f"  %e = tensor.empty() : {yf32}")
        dims = ",".join(f"d{i}" for i in range(len(yshape)))
        ident = f"affine_map<({dims}) -> ({dims})>"
        iters = ", ".join(['"parallel"'] * len(yshape))
        lines.append(f"  %yf = linalg.generic {{indexing_maps = [{ident}, {ident}], "
                     f"iterator_types = [{iters}]}} ins(%y : {ytype}) outs(%e : {yf32}) {{")
        lines.append(f"  ^bb0(%in: {xt}, %out: f32):")
        lines.append(f"    %v = arith.extf %in : {xt} to f32")
        lines.append(f"    linalg.yield %v : f32")
        lines.append(f"  }} -> {yf32}")
        yname = "%yf"
    else:
        yname = "%y"
    lines.append(f"  %u = tensor.cast {yname} : {yf32} to tensor<*xf32>")
    lines.append(f"  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()")
    lines.append("  return")
    lines.append("}")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def check(args):
    data = np.load(args.ref)
    ref, absref, x_type = data["ref"], data["absref"], str(data["x_type"])
    text = sys.stdin.read()
    start = text.find("data =")
    if start < 0:
        print("FAIL: no 'data =' in the program output:\n" + text[:2000])
        return 1
    got = np.array([float(t) for t in re.findall(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)", text[start + 6:])])
    if got.size != ref.size:
        print(f"FAIL: got {got.size} values, expected {ref.size}")
        return 1
    got = got.reshape(ref.shape)
    # f32 accumulation of K products: relative error ~ K * 2^-24 of sum |x w|;
    # printing keeps 6 significant digits; f16/bf16 outputs round once more.
    out_eps = {"f32": 2e-6, "f16": 1e-3, "bf16": 8e-3}[x_type]
    terms = int(data["f32_terms"]) if "f32_terms" in data else args.k
    tol = (terms * 2.0 ** -23 + 1e-6) * absref + out_eps * np.abs(ref) + 1e-6
    if args.f16_operands:
        # x and the dequantized weight each rounded to f16 (relative error
        # 2^-11 each) before an exact product: 2^-10 of sum |x w| at most.
        tol += 2.0 ** -10 * absref
    # NaN where the reference has NaN (a NaN in x), and only there.
    nan_ref, nan_got = np.isnan(ref), np.isnan(got)
    if (nan_ref != nan_got).any():
        i = tuple(np.argwhere(nan_ref != nan_got)[0])
        print(f"FAIL: NaN mismatch; first at {i}: got {got[i]!r}, expected {ref[i]!r}")
        return 1
    if nan_ref.any():
        print(f"NaN in {int(nan_ref.sum())} elements, as expected")
    ref, got, tol = np.where(nan_ref, 0, ref), np.where(nan_got, 0, got), np.where(nan_ref, 1, tol)
    err = np.abs(got - ref)
    bad = np.argwhere(err > tol)
    if bad.size:
        i = tuple(bad[0])
        print(f"FAIL: {len(bad)} of {ref.size} elements off; first at {i}: got {got[i]!r}, "
              f"expected {ref[i]!r} (tolerance {tol[i]:.3g})")
        return 1
    print(f"PASS {ref.size} elements, max abs error {err.max():.3g}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--bits", type=int, default=4, help="code width of --format int")
    g.add_argument("--format", choices=["int", "f8E4M3FN", "f8E5M2", "nf4", "lut4", "mxfp4", "nvfp4"],
                   default="int",
                   help="element format: integers, fp8 bit patterns, NF4 codes, lut4 "
                        "codes of a random codebook in the scheme, or fp4 "
                        "E2M1 codes with mxfp4's E8M0 or nvfp4's E4M3 block scales "
                        "(decoded here from the formats' definitions)")
    g.add_argument("--mode", choices=["symmetric", "asymmetric", "offset"], default="symmetric",
                   help="offset: unsigned codes, value = scale * code + offset (llama.cpp's "
                        "Q4_1 form); the program is qnt.dequantize + linalg.matmul, which "
                        "qnt-fuse-dequant-matmul splits into qnt.matmul + the offsets' products")
    g.add_argument("--group", type=int, default=0, help="group size; 0 per channel, -1 per tensor")
    g.add_argument("--m", type=int, default=1, help="rows of x; 0 for a rank-1 x")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--k", type=int, required=True)
    g.add_argument("--batch", type=int, default=0)
    g.add_argument("--bias", action="store_true")
    g.add_argument("--scale-type", default="f32")
    g.add_argument("--x-type", default="f32")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--layer-only", action="store_true",
                   help="write only @layer (no @main), e.g. to compile it for a GPU")
    g.add_argument("--dynamic-m", action="store_true",
                   help="@layer takes x with a dynamic row dimension")
    g.add_argument("--int8-activations", action="store_true",
                   help="reference for activations=i8: x quantized per block of --act-block")
    g.add_argument("--nan-x", action="store_true",
                   help="a NaN in the first row of x (its outputs must be NaN)")
    g.add_argument("--act-block", type=int, default=0,
                   help="act-block of the kernel (0: its default, chosen per matmul)")
    g.add_argument("--out", required=True)
    g.add_argument("--ref", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ref", required=True)
    c.add_argument("--k", type=int, required=True)
    c.add_argument("--f16-operands", action="store_true",
                   help="the kernel multiplies f16-rounded x and weights (GPU tensor-core GEMM)")
    args = p.parse_args()
    if args.cmd == "gen":
        gen(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
