#!/usr/bin/env python3
"""The non-matmul ops of a llama2.c decoding step, run and checked against numpy.

`gen` writes an MLIR module whose @main runs, on random float32 inputs, the
linalg ops lib/Import/Transformer.cpp builds (same maps and bodies): an
elementwise add (arith on tensors, via convert-elementwise-to-linalg), SwiGLU,
RMSNorm (a row reduction), a masked softmax over rows (max, exp, sum, divide),
attention's scores and weighted sum over a cache with two query heads per key
head (maps with floordiv) and a float linear layer (linalg.matmul with a
transposed B). Sizes are not multiples of 8 or 16, so every op has remainder
tiles. @main prints each result as floats, then the same values as their
32-bit patterns. The reference is computed here, in float64 numpy, from the
same inputs; it is written to --ref.

`check` reads mlir-runner's output on stdin, compares every float with the
reference, and writes the bit patterns to --bits (so that two runs, with and
without qnt-vectorize-linalg, can be compared exactly with diff).
"""
import argparse
import re
import sys

import numpy as np

H, KVH, HS, SEQ = 4, 2, 8, 19  # heads, key/value heads, head size, positions
DIM = 67                       # RMSNorm width
ROWS, COLS = 3, 37             # elementwise shapes
SM_ROWS, SM_COLS = 5, 45       # softmax
LIN_N, LIN_K = 13, 40          # linear layer
POS = 11                       # positions after this one are masked out
EPS = 1e-5


def mlir_float(v):
    return repr(float(np.float32(v)))


def dense(arr):
    if arr.ndim == 0:
        return mlir_float(arr)
    return "[" + ", ".join(dense(a) for a in arr) + "]"


def ttype(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def inputs(seed):
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    return {
        "a": f(ROWS, COLS), "b": f(ROWS, COLS),
        "x": f(1, DIM), "w": (1 + 0.1 * f(DIM)).astype(np.float32),
        "s": (3 * f(SM_ROWS, SM_COLS)).astype(np.float32),
        "q": f(H, HS), "k": f(SEQ, KVH, HS), "v": f(SEQ, KVH, HS),
        "p": np.abs(f(H, SEQ)),
        "lx": f(1, LIN_K), "lw": f(LIN_N, LIN_K),
    }


def reference(t):
    d = {k: v.astype(np.float64) for k, v in t.items()}
    out = {}
    out["add"] = d["a"] + d["b"]
    out["swiglu"] = d["a"] * (1 / (1 + np.exp(-d["a"]))) * d["b"]
    ss = (d["x"] ** 2).sum()
    out["rmsnorm"] = d["w"] * (d["x"] / np.sqrt(ss / DIM + EPS))
    s = np.where(np.arange(SM_COLS)[None, :] <= POS, d["s"] / np.sqrt(8.0), -np.inf)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    out["softmax"] = e / e.sum(axis=1, keepdims=True)
    kh = d["k"][:, np.arange(H) // (H // KVH), :]  # [t, h, i]
    out["scores"] = np.einsum("hi,thi->ht", d["q"], kh)
    vh = d["v"][:, np.arange(H) // (H // KVH), :]
    out["weighted"] = np.einsum("ht,thi->hi", d["p"], vh)
    out["linear"] = d["lx"] @ d["lw"].T
    return out


# Result name -> (shape, number of terms summed into each element).
RESULTS = {
    "add": ((ROWS, COLS), 1), "swiglu": ((ROWS, COLS), 1),
    "rmsnorm": ((1, DIM), DIM), "softmax": ((SM_ROWS, SM_COLS), SM_COLS),
    "scores": ((H, SEQ), HS), "weighted": ((H, HS), SEQ),
    "linear": ((1, LIN_N), LIN_K),
}


def gen(args):
    t = inputs(args.seed)
    ref = reference(t)
    np.savez(args.ref, **ref)
    g = H // KVH
    L = []
    L.append("func.func private @printMemrefF32(tensor<*xf32>)")
    L.append("func.func private @printMemrefI32(tensor<*xi32>)")
    ew = "affine_map<(i, j) -> (i, j)>"
    row = "affine_map<(i, j) -> (i)>"
    col = "affine_map<(i, j) -> (j)>"
    a_t, x_t, s_t = ttype((ROWS, COLS)), ttype((1, DIM)), ttype((SM_ROWS, SM_COLS))
    L.append(f"""
func.func @add(%a: {a_t}, %b: {a_t}) -> {a_t} {{
  %r = arith.addf %a, %b : {a_t}
  return %r : {a_t}
}}
func.func @swiglu(%a: {a_t}, %b: {a_t}) -> {a_t} {{
  %e = tensor.empty() : {a_t}
  %r = linalg.generic {{indexing_maps = [{ew}, {ew}, {ew}], iterator_types = ["parallel", "parallel"]}}
      ins(%a, %b : {a_t}, {a_t}) outs(%e : {a_t}) {{
  ^bb0(%x: f32, %y: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %x : f32
    %ex = math.exp %n : f32
    %d = arith.addf %one, %ex : f32
    %sig = arith.divf %one, %d : f32
    %xs = arith.mulf %x, %sig : f32
    %r = arith.mulf %xs, %y : f32
    linalg.yield %r : f32
  }} -> {a_t}
  return %r : {a_t}
}}
func.func @rmsnorm(%x: {x_t}, %w: tensor<{DIM}xf32>) -> {x_t} {{
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1xf32>) -> tensor<1xf32>
  %ss = linalg.generic {{indexing_maps = [{ew}, {row}], iterator_types = ["parallel", "reduction"]}}
      ins(%x : {x_t}) outs(%init : tensor<1xf32>) {{
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> tensor<1xf32>
  %e = tensor.empty() : {x_t}
  %r = linalg.generic {{indexing_maps = [{ew}, {row}, {col}, {ew}], iterator_types = ["parallel", "parallel"]}}
      ins(%x, %ss, %w : {x_t}, tensor<1xf32>, tensor<{DIM}xf32>) outs(%e : {x_t}) {{
  ^bb0(%a: f32, %s: f32, %wt: f32, %o: f32):
    %inv_n = arith.constant {mlir_float(1.0 / DIM)} : f32
    %eps = arith.constant {mlir_float(EPS)} : f32
    %one = arith.constant 1.0 : f32
    %mean = arith.mulf %s, %inv_n : f32
    %plus = arith.addf %mean, %eps : f32
    %sq = math.sqrt %plus : f32
    %inv = arith.divf %one, %sq : f32
    %xn = arith.mulf %inv, %a : f32
    %r = arith.mulf %wt, %xn : f32
    linalg.yield %r : f32
  }} -> {x_t}
  return %r : {x_t}
}}
func.func @softmax(%s: {s_t}, %pos: index) -> {s_t} {{
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {s_t}
  %scaled = linalg.generic {{indexing_maps = [{ew}, {ew}], iterator_types = ["parallel", "parallel"]}}
      ins(%s : {s_t}) outs(%e : {s_t}) {{
  ^bb0(%a: f32, %o: f32):
    %t = linalg.index 1 : index
    %vis = arith.cmpi ule, %t, %pos : index
    %c = arith.constant {mlir_float(np.sqrt(8.0))} : f32
    %d = arith.divf %a, %c : f32
    %r = arith.select %vis, %d, %ninf : f32
    linalg.yield %r : f32
  }} -> {s_t}
  %er = tensor.empty() : tensor<{SM_ROWS}xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<{SM_ROWS}xf32>) -> tensor<{SM_ROWS}xf32>
  %max = linalg.generic {{indexing_maps = [{ew}, {row}], iterator_types = ["parallel", "reduction"]}}
      ins(%scaled : {s_t}) outs(%m0 : tensor<{SM_ROWS}xf32>) {{
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  }} -> tensor<{SM_ROWS}xf32>
  %exps = linalg.generic {{indexing_maps = [{ew}, {row}, {ew}], iterator_types = ["parallel", "parallel"]}}
      ins(%scaled, %max : {s_t}, tensor<{SM_ROWS}xf32>) outs(%e : {s_t}) {{
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  }} -> {s_t}
  %s0 = linalg.fill ins(%zero : f32) outs(%er : tensor<{SM_ROWS}xf32>) -> tensor<{SM_ROWS}xf32>
  %sum = linalg.generic {{indexing_maps = [{ew}, {row}], iterator_types = ["parallel", "reduction"]}}
      ins(%exps : {s_t}) outs(%s0 : tensor<{SM_ROWS}xf32>) {{
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %acc, %a : f32
    linalg.yield %r : f32
  }} -> tensor<{SM_ROWS}xf32>
  %probs = linalg.generic {{indexing_maps = [{ew}, {row}, {ew}], iterator_types = ["parallel", "parallel"]}}
      ins(%exps, %sum : {s_t}, tensor<{SM_ROWS}xf32>) outs(%e : {s_t}) {{
  ^bb0(%a: f32, %su: f32, %o: f32):
    %r = arith.divf %a, %su : f32
    linalg.yield %r : f32
  }} -> {s_t}
  return %probs : {s_t}
}}
func.func @scores(%q: {ttype((H, HS))}, %k: {ttype((SEQ, KVH, HS))}) -> {ttype((H, SEQ))} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {ttype((H, SEQ))}
  %init = linalg.fill ins(%zero : f32) outs(%e : {ttype((H, SEQ))}) -> {ttype((H, SEQ))}
  %r = linalg.generic {{indexing_maps = [affine_map<(h, t, i) -> (h, i)>, affine_map<(h, t, i) -> (t, h floordiv {g}, i)>, affine_map<(h, t, i) -> (h, t)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%q, %k : {ttype((H, HS))}, {ttype((SEQ, KVH, HS))}) outs(%init : {ttype((H, SEQ))}) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> {ttype((H, SEQ))}
  return %r : {ttype((H, SEQ))}
}}
func.func @weighted(%p: {ttype((H, SEQ))}, %v: {ttype((SEQ, KVH, HS))}) -> {ttype((H, HS))} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {ttype((H, HS))}
  %init = linalg.fill ins(%zero : f32) outs(%e : {ttype((H, HS))}) -> {ttype((H, HS))}
  %r = linalg.generic {{indexing_maps = [affine_map<(h, i, t) -> (h, t)>, affine_map<(h, i, t) -> (t, h floordiv {g}, i)>, affine_map<(h, i, t) -> (h, i)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%p, %v : {ttype((H, SEQ))}, {ttype((SEQ, KVH, HS))}) outs(%init : {ttype((H, HS))}) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> {ttype((H, HS))}
  return %r : {ttype((H, HS))}
}}
func.func @linear(%x: {ttype((1, LIN_K))}, %w: {ttype((LIN_N, LIN_K))}) -> {ttype((1, LIN_N))} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {ttype((1, LIN_N))}
  %init = linalg.fill ins(%zero : f32) outs(%e : {ttype((1, LIN_N))}) -> {ttype((1, LIN_N))}
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : {ttype((1, LIN_K))}, {ttype((LIN_N, LIN_K))}) outs(%init : {ttype((1, LIN_N))}) -> {ttype((1, LIN_N))}
  return %r : {ttype((1, LIN_N))}
}}""")
    L.append("func.func @main() {")
    for name, arr in t.items():
        L.append(f"  %{name} = arith.constant dense<{dense(arr)}> : {ttype(arr.shape)}")
    L.append(f"  %pos = arith.constant {POS} : index")
    calls = {
        "add": "@add(%a, %b)", "swiglu": "@swiglu(%a, %b)",
        "rmsnorm": "@rmsnorm(%x, %w)", "softmax": "@softmax(%s, %pos)",
        "scores": "@scores(%q, %k)", "weighted": "@weighted(%p, %v)",
        "linear": "@linear(%lx, %lw)",
    }
    arg_types = {
        "add": [a_t, a_t], "swiglu": [a_t, a_t], "rmsnorm": [x_t, f"tensor<{DIM}xf32>"],
        "softmax": [s_t, "index"], "scores": [ttype((H, HS)), ttype((SEQ, KVH, HS))],
        "weighted": [ttype((H, SEQ)), ttype((SEQ, KVH, HS))],
        "linear": [ttype((1, LIN_K)), ttype((LIN_N, LIN_K))],
    }
    for name, (shape, _) in RESULTS.items():
        rt = ttype(shape)
        it = rt.replace("xf32>", "xi32>")
        L.append(f"  %r_{name} = call {calls[name]} : ({', '.join(arg_types[name])}) -> {rt}")
        # The bit patterns first: the print calls may write their argument
        # (bufferization assumes so), so nothing reads a value after one.
        L.append(f"  %i_{name} = arith.bitcast %r_{name} : {rt} to {it}")
        L.append(f"  %u_{name} = tensor.cast %r_{name} : {rt} to tensor<*xf32>")
        L.append(f"  call @printMemrefF32(%u_{name}) : (tensor<*xf32>) -> ()")
        L.append(f"  %v_{name} = tensor.cast %i_{name} : {it} to tensor<*xi32>")
        L.append(f"  call @printMemrefI32(%v_{name}) : (tensor<*xi32>) -> ()")
    L.append("  return")
    L.append("}")
    with open(args.out, "w") as f:
        f.write("\n".join(L) + "\n")


def check(args):
    ref = np.load(args.ref)
    text = sys.stdin.read()
    # Each print is "Unranked Memref base@ = ... data = \n[...]"; floats and
    # bit patterns alternate, in RESULTS order.
    blocks = text.split("Unranked Memref")[1:]
    if len(blocks) != 2 * len(RESULTS):
        print(f"FAIL: {len(blocks)} printed memrefs, expected {2 * len(RESULTS)}")
        return 1
    number = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)"
    bits = []
    failed = False
    for n, (name, (shape, terms)) in enumerate(RESULTS.items()):
        body = blocks[2 * n][blocks[2 * n].index("data =") + 6:]
        got = np.array([float(v) for v in re.findall(number, body)])
        want = ref[name].reshape(-1)
        if got.size != want.size:
            print(f"FAIL {name}: {got.size} values, expected {want.size}")
            failed = True
            continue
        # Float32 rounding of `terms` accumulated products plus the 6
        # significant digits of printing.
        tol = (terms + 4) * 2.0 ** -23 * np.abs(want) * 4 + 5e-6 * np.abs(want) + 1e-6
        err = np.abs(got - want)
        bad = np.argwhere(err > tol).reshape(-1)
        if bad.size:
            i = bad[0]
            print(f"FAIL {name}: {bad.size} of {want.size} off; first at {i}: "
                  f"got {got[i]!r}, expected {want[i]!r}")
            failed = True
        else:
            print(f"PASS {name} {want.size} elements, max abs error {err.max():.3g}")
        body = blocks[2 * n + 1][blocks[2 * n + 1].index("data =") + 6:]
        bits.append(name + " " + " ".join(re.findall(r"-?\d+", body)))
    with open(args.bits, "w") as f:
        f.write("\n".join(bits) + "\n")
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--out", required=True)
    g.add_argument("--ref", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ref", required=True)
    c.add_argument("--bits", required=True)
    args = p.parse_args()
    if args.cmd == "gen":
        gen(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
