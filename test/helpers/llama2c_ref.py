#!/usr/bin/env python3
"""An independent numpy forward pass of a llama2.c checkpoint (as run.c does).

  llama2c_ref.py CHECKPOINT --steps N [--tokens "1 ..."] [--logits FILE]

Prints the greedy tokens like quant-run (prompt fed one token at a time, then
N generated tokens) and can write the logits of every fed token (float32
rows). `compare` checks quant-run's output files against this reference; `stats`
writes calibration statistics and `compare-stats` compares two such files.
"""
import argparse
import sys

import numpy as np


def load(path):
    raw = np.fromfile(path, dtype=np.uint8)
    dim, hidden, layers, heads, kv_heads, vocab, seq = np.frombuffer(raw[:28].tobytes(), dtype=np.int32)
    shared = vocab > 0
    vocab = abs(int(vocab))
    f = np.frombuffer(raw[28:].tobytes(), dtype=np.float32)
    kv_dim = dim * kv_heads // heads
    head = dim // heads
    o = 0

    def take(*shape):
        nonlocal o
        n = int(np.prod(shape))
        t = f[o:o + n].reshape(shape)
        o += n
        return t

    w = {}
    w["emb"] = take(vocab, dim)
    w["rms_att"] = take(layers, dim)
    w["wq"] = take(layers, dim, dim)
    w["wk"] = take(layers, kv_dim, dim)
    w["wv"] = take(layers, kv_dim, dim)
    w["wo"] = take(layers, dim, dim)
    w["rms_ffn"] = take(layers, dim)
    w["w1"] = take(layers, hidden, dim)
    w["w2"] = take(layers, dim, hidden)
    w["w3"] = take(layers, hidden, dim)
    w["rms_final"] = take(dim)
    take(seq * head // 2)
    take(seq * head // 2)
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=int(dim), hidden=int(hidden), layers=int(layers), heads=int(heads),
               kv_heads=int(kv_heads), vocab=vocab, seq=int(seq), head=int(head), kv_dim=int(kv_dim))
    return cfg, w


KIVI_CLIP_FACTORS = (1.0, 0.95, 0.9, 0.85, 0.8)


def i8_cache_codes(x):
    """The codes and scales of x [..., KvH, D] in an i8 cache's records, in
    f32 as quant-compile --kv-cache=i8 computes them (docs/BIT_LAYOUT.md,
    "KV cache rows"): per position the step u, the largest |x| of its heads
    / (127 * 255) rounded up to an f16 (at most 65504); per head the
    multiplier m = min(255, ceil(amax / (127 u))) (0 where u is 0) and the
    scale u * m; codes round(x * (1 / (u m))) clamped to +-127 (0 where the
    scale is 0). Returns (codes, scales [..., KvH, 1])."""
    f32 = np.float32
    x = np.asarray(x, dtype=f32)
    amax = np.abs(x).max(axis=-1, keepdims=True)
    exact = np.minimum((amax.max(axis=-2, keepdims=True) / f32(127 * 255)).astype(f32), f32(65504))
    half = exact.astype(np.float16)
    half = np.where(half.astype(f32) < exact, np.nextafter(half, np.float16(np.inf)), half)
    u = half.astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(u > 0, np.minimum(np.ceil((amax / (u * f32(127))).astype(f32)), f32(255)), f32(0))
        scale = (u * m.astype(f32)).astype(f32)
        inv = np.where(scale > 0, (f32(1) / scale).astype(f32), f32(0)).astype(f32)
    codes = np.clip(np.rint((x * inv).astype(f32)), -127, 127)
    return codes, scale


def kivi_dequantize_range(x, lo, hi):
    """x through 4-bit codes for values from lo to hi (broadcast), as
    quant-compile --kv-cache=i4 computes them in f32: scale s = f16((hi - lo)
    / 15), zero point z = round(-lo / s) in [-128, 127], codes round(x / s)
    + z in [0, 15] (all 0 where s is 0), read back as (code - z) * s."""
    f32 = np.float32
    s = ((hi - lo) / f32(15)).astype(np.float16).astype(f32)
    nonzero = s > 0
    safe = np.where(nonzero, s, f32(1))
    with np.errstate(invalid="ignore"):
        z = np.where(nonzero, np.clip(np.rint(-lo / safe), -128, 127), f32(0)).astype(f32)
        c = np.where(nonzero, np.clip(np.rint(x / safe) + z, 0, 15), f32(0)).astype(f32)
    return ((c - z) * s).astype(f32)


def kivi_dequantize(x, axis):
    """x read back from 4-bit codes quantized over `axis` (an i4 cache's
    block: axis 0, each channel over the block's positions): of the ranges
    [min, max] shrunk about their middle by KIVI_CLIP_FACTORS, the one whose
    squared error (summed in order along `axis`, in f32) is least, the first
    on ties (docs/BIT_LAYOUT.md)."""
    f32 = np.float32
    x = np.asarray(x, dtype=f32)
    lo, hi = x.min(axis=axis, keepdims=True), x.max(axis=axis, keepdims=True)
    mid = (lo + hi) / f32(2)
    half_range = (hi - lo) / f32(2)
    best = best_error = None
    for f in KIVI_CLIP_FACTORS:
        half = (half_range * f32(f)).astype(f32)
        y = kivi_dequantize_range(x, mid - half, mid + half)
        d = y - x
        d2 = (d * d).astype(f32)
        e = np.zeros_like(lo)
        for i in range(x.shape[axis]):
            e = (e + np.take(d2, [i], axis=axis)).astype(f32)
        if best is None:
            best, best_error = y, e
        else:
            better = e < best_error
            best = np.where(better, y, best)
            best_error = np.where(better, e, best_error)
    return best


def window_codes(x):
    """The 8-bit codes and scale of rows x [..., D] in an i4 cache's window,
    in f32 as quant-compile --kv-cache=i4 computes them (docs/BIT_LAYOUT.md,
    "KV cache rows"): s = f16(min(max|x| / 127, 65504)) (rounded to nearest
    even), codes round(x * (1 / s)) clamped to +-127 (0 where s is 0), read
    back as codes * s. Returns (codes, scale [..., 1])."""
    f32 = np.float32
    x = np.asarray(x, dtype=f32)
    amax = np.abs(x).max(axis=-1, keepdims=True)
    # The bound keeps a huge row's scale finite in f16 instead of inf.
    s = np.minimum((amax / f32(127)).astype(f32), f32(65504))
    s = s.astype(np.float16).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(s != 0, (f32(1) / s).astype(f32), f32(0)).astype(f32)
        codes = np.clip(np.rint((x * inv).astype(f32)), -127, 127)
    return np.where(s != 0, codes, f32(0)).astype(f32), s


def window_start(n, block, window):
    """The first position of an i4 cache's window while positions 0..n-1
    are live: the blocks before it are closed (4-bit), the window keeps the
    last window - block positions of closed blocks and the open block."""
    return max(0, n // block * block - (window - block))


def rmsnorm(x, weight):
    ss = np.float32(np.mean(x.astype(np.float64) ** 2)) + np.float32(1e-5)
    return weight * (x / np.sqrt(ss)).astype(np.float32)


class Model:
    def __init__(self, path, kv_cache="f32", kv_block=32, kv_window=64):
        if kv_cache == "i4" and (kv_window < kv_block or kv_window % kv_block):
            raise ValueError(f"the i4 window ({kv_window}) must be a "
                             f"multiple of the block ({kv_block})")
        self.cfg, self.w = load(path)
        self.kv_cache = kv_cache
        self.kv_block = kv_block
        self.kv_window = kv_window
        c = self.cfg
        self.k = np.zeros((c["layers"], c["seq"], c["kv_dim"]), dtype=np.float32)
        self.v = np.zeros_like(self.k)
        self.stats = None
        self.linear = {}
        self.outer = None

    def rope(self, x, pos):
        head = self.cfg["head"]
        out = x.copy()
        for i in range(0, x.shape[0], 2):
            freq = 1.0 / (10000.0 ** ((i % head) / head))
            val = pos * freq
            c, s = np.cos(val), np.sin(val)
            out[i] = x[i] * c - x[i + 1] * s
            out[i + 1] = x[i] * s + x[i + 1] * c
        return out

    def cache_row(self, x):
        """The values a cache row holds: x itself (f32), x rounded to half
        floats (f16), or with --kv-cache i8 the codes times their head's
        scale (i8_cache_codes). An i4 cache's rows go through store_i4."""
        x = np.asarray(x, dtype=np.float32)
        if self.kv_cache == "f32":
            return x
        if self.kv_cache == "f16":
            return x.astype(np.float16).astype(np.float32)
        codes, scale = i8_cache_codes(x.reshape(-1, self.cfg["head"]))
        return (codes * scale).astype(np.float32).reshape(-1)

    def store_i4(self, cache, l, pos, x):
        """Stores position pos of layer l in an i4 cache (keys after RoPE
        and values alike) as the 8-bit window reads it back (window_codes
        per kv head). When pos ends a block, the window's oldest block (the
        kv_block positions from pos + 1 - kv_window, if there are any)
        leaves it: encoded in 4 bits from its window values, per channel
        and kv head over the block (kivi_dequantize), so that a value goes
        x -> window -> block as in quant-compile --kv-cache=i4."""
        x = np.asarray(x, dtype=np.float32).reshape(-1, self.cfg["head"])
        codes, scale = window_codes(x)
        cache[l, pos] = (codes * scale).astype(np.float32).reshape(-1)
        b, lo = self.kv_block, pos + 1 - self.kv_window
        if (pos + 1) % b or lo < 0:
            return
        cache[l, lo:lo + b] = kivi_dequantize(cache[l, lo:lo + b], axis=0)

    def observe(self, name, x):
        """Accumulates x^2 per input channel of the linear layer `name` (and
        x x^T when self.outer is a dict, for 'eigen' lines)."""
        if self.stats is not None:
            x = np.asarray(x, dtype=np.float64)
            total, count = self.stats.get(name, (0.0, 0))
            self.stats[name] = (total + x ** 2, count + 1)
            self.linear[name] = self.linear.get(name, 0.0) + x
            if self.outer is not None:
                self.outer[name] = self.outer.get(name, 0.0) + np.outer(x, x)

    def step(self, token, pos):
        c, w = self.cfg, self.w
        x = w["emb"][token].astype(np.float64)
        group = c["heads"] // c["kv_heads"]
        for l in range(c["layers"]):
            xb = rmsnorm(x, w["rms_att"][l]).astype(np.float64)
            for name in ("wq", "wk", "wv"):
                self.observe(f"layers.{l}.{name}", xb)
            q = w["wq"][l] @ xb
            k = w["wk"][l] @ xb
            v = w["wv"][l] @ xb
            q, k = self.rope(q, pos), self.rope(k, pos)
            if self.kv_cache == "i4":
                self.store_i4(self.k, l, pos, k)
                self.store_i4(self.v, l, pos, v)
            else:
                self.k[l, pos] = self.cache_row(k)
                self.v[l, pos] = self.cache_row(v)
            att_out = np.zeros(c["dim"])
            for h in range(c["heads"]):
                hs = c["head"]
                kvh = h // group
                qh = q[h * hs:(h + 1) * hs]
                keys = self.k[l, :pos + 1, kvh * hs:(kvh + 1) * hs].astype(np.float64)
                scores = keys @ qh / np.sqrt(hs)
                scores = np.exp(scores - scores.max())
                scores /= scores.sum()
                vals = self.v[l, :pos + 1, kvh * hs:(kvh + 1) * hs].astype(np.float64)
                att_out[h * hs:(h + 1) * hs] = scores @ vals
            self.observe(f"layers.{l}.wo", att_out)
            x = x + w["wo"][l] @ att_out
            xb = rmsnorm(x, w["rms_ffn"][l]).astype(np.float64)
            self.observe(f"layers.{l}.w1", xb)
            self.observe(f"layers.{l}.w3", xb)
            h1 = w["w1"][l] @ xb
            h3 = w["w3"][l] @ xb
            hidden = h1 / (1 + np.exp(-h1)) * h3
            self.observe(f"layers.{l}.w2", hidden)
            x = x + w["w2"][l] @ hidden
        x = rmsnorm(x, w["rms_final"]).astype(np.float64)
        self.observe("classifier", x)
        return w["cls"] @ x


def run(path, prompt, steps, logits_path, kv_cache="f32", kv_block=32,
        kv_window=64):
    m = Model(path, kv_cache, kv_block, kv_window)
    rows, out = [], []
    total = len(prompt) + max(steps - 1, 0)
    token = prompt[0]
    for pos in range(total):
        logits = m.step(token, pos)
        rows.append(logits.astype(np.float32))
        best = int(np.argmax(logits))
        if pos + 1 < len(prompt):
            token = prompt[pos + 1]
        elif steps > 0:
            out.append(best)
            token = best
    if logits_path:
        np.stack(rows).astype("<f4").tofile(logits_path)
    return out


def read_stats(path, directions=None):
    """The E[x_k^2] lines as [(name, values)]; the 'eigen' lines go to
    `directions` (name -> [(lambda, u)]) if it is a dict."""
    layers = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) > 1 and words[1] == "eigen":
                if directions is not None:
                    directions.setdefault(words[0], []).append(
                        (float(words[2]), np.array([float(v) for v in words[3:]])))
            else:
                layers.append((words[0], np.array([float(v) for v in words[1:]])))
    return layers


def compare_stats(reference, candidate, rtol):
    """Same layers in the same order, each with the same number of channels
    and |got - ref| <= rtol * max(ref) per layer."""
    ref_dirs, got_dirs = {}, {}
    ref, got = read_stats(reference, ref_dirs), read_stats(candidate, got_dirs)
    if [n for n, _ in ref] != [n for n, _ in got] or not ref:
        print("FAIL: layers", [n for n, _ in got], "expected", [n for n, _ in ref])
        return 1
    worst = 0.0
    for (name, r), (_, g) in zip(ref, got):
        if r.size != g.size:
            print(f"FAIL: {name} has {g.size} values, expected {r.size}")
            return 1
        err = np.abs(g - r).max() / np.abs(r).max()
        if err > rtol:
            print(f"FAIL: {name}: max |difference| is {err:.3g} of max E[x^2], above {rtol}")
            return 1
        worst = max(worst, err)
    # 'eigen' lines are compared when the reference has them: the same
    # number per layer, lambda to rtol relative, u to rtol of max |u|.
    worst_dir = 0.0
    for name, dirs in ref_dirs.items():
        mine = got_dirs.get(name, [])
        if len(mine) != len(dirs):
            print(f"FAIL: {name} has {len(mine)} 'eigen' lines, expected {len(dirs)}")
            return 1
        for (rl, ru), (gl, gu) in zip(dirs, mine):
            if ru.size != gu.size:
                print(f"FAIL: {name}: 'eigen' line has {gu.size} values, expected {ru.size}")
                return 1
            err = max(abs(gl - rl) / abs(rl), np.abs(gu - ru).max() / np.abs(ru).max())
            if err > rtol:
                print(f"FAIL: {name}: 'eigen' line differs by {err:.3g}, above {rtol}")
                return 1
            worst_dir = max(worst_dir, err)
    ndirs = sum(len(d) for d in ref_dirs.values())
    print(f"PASS {len(ref)} layers, {sum(r.size for _, r in ref)} channels, "
          f"max |difference| {worst:.2g} of the layer's max"
          + (f"; {ndirs} directions, max difference {worst_dir:.2g}" if ndirs else ""))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("checkpoint")
    r.add_argument("--steps", type=int, default=16)
    r.add_argument("--tokens", default="1")
    r.add_argument("--logits")
    r.add_argument("--kv-cache", choices=["f32", "f16", "i8", "i4"], default="f32",
                   help="how the KV cache stores rows (quant-compile --kv-cache)")
    r.add_argument("--kv-block", type=int, default=32,
                   help="block of an i4 cache (quant-compile --kv-block)")
    r.add_argument("--kv-window", type=int, default=64,
                   help="window of an i4 cache (quant-compile --kv-window)")
    st = sub.add_parser("stats", help="calibration statistics for qnt-assign-bitwidths")
    st.add_argument("checkpoint")
    st.add_argument("--positions", type=int, default=128)
    st.add_argument("--start-token", type=int, default=1,
                    help="first token; greedy decoding continues from it")
    st.add_argument("--rank", type=int, default=0,
                    help="also write the top RANK eigenpairs of each layer's E[x x^T] "
                         "('eigen' lines, docs/CALIBRATION.md)")
    st.add_argument("--mean", action="store_true",
                    help="also write the mean mu = E[x] of each layer's input as one 'eigen' line "
                         "(||mu||^2, mu / ||mu||), as quant-compile --calibrate does")
    st.add_argument("--token-file",
                    help="teacher forcing instead: every line of this file is one "
                         "sample (token ids; '#' comments), fed from position 0 "
                         "with an empty cache, as quant-compile --calibrate does")
    c = sub.add_parser("compare", help="compare two logits files")
    c.add_argument("reference")
    c.add_argument("candidate")
    c.add_argument("--rtol", type=float, default=1e-4)
    c.add_argument("--top1", type=int, default=0,
                   help="also require the largest logit of at least this many rows "
                        "(of the vocabulary's size, --vocab) to be at the same index")
    c.add_argument("--vocab", type=int, default=0, help="row length for --top1")
    c.add_argument("--text", action="store_true",
                   help="the candidate is the output of quant-import --emit-driver "
                        "--driver-print-logits (one '( l0, l1, ... )' line per step)")
    cs = sub.add_parser("compare-stats", help="compare two calibration statistics files")
    cs.add_argument("reference")
    cs.add_argument("candidate")
    cs.add_argument("--rtol", type=float, default=1e-5)
    args = p.parse_args()
    if args.cmd == "run":
        prompt = [int(t) for t in args.tokens.split()]
        print(" ".join(str(t) for t in run(args.checkpoint, prompt, args.steps, args.logits, args.kv_cache,
                                                      args.kv_block, args.kv_window)))
        return 0
    if args.cmd == "stats":
        # Every linear layer's input is observed.
        m = Model(args.checkpoint)
        m.stats = {}
        m.outer = {} if args.rank else None
        if args.token_file:
            with open(args.token_file) as f:
                samples = [[int(t) for t in line.split("#")[0].split()] for line in f]
            for sample in samples:
                m.k[:] = 0
                m.v[:] = 0
                for pos, token in enumerate(sample):
                    m.step(token, pos)
            print("# E[x_k^2] of each linear layer's input, teacher forcing over",
                  args.token_file)
        else:
            # Greedy decoding from the start token.
            token = args.start_token
            for pos in range(min(args.positions, m.cfg["seq"])):
                token = int(np.argmax(m.step(token, pos)))
            print("# E[x_k^2] of each linear layer's input over", args.positions,
                  "greedy positions from token", args.start_token)
        for name, (total, count) in m.stats.items():
            print(name, " ".join(f"{v:.9g}" for v in total / count))
            mu = m.linear[name] / count
            if args.mean and np.any(mu != 0):
                norm2 = float(np.sum(mu ** 2))
                print(name, "eigen", f"{norm2:.9g}", " ".join(f"{v:.9g}" for v in mu / np.sqrt(norm2)))
            if args.rank:
                lam, vec = np.linalg.eigh(m.outer[name] / count)
                for i in np.argsort(lam)[::-1][:args.rank]:
                    print(name, "eigen", f"{max(lam[i], 0.0):.9g}", " ".join(f"{v:.9g}" for v in vec[:, i]))
        return 0
    if args.cmd == "compare-stats":
        return compare_stats(args.reference, args.candidate, args.rtol)
    ref = np.fromfile(args.reference, dtype="<f4")
    if args.text:
        with open(args.candidate) as f:
            rows = [[float(v) for v in line.strip()[1:-1].split(",")]
                    for line in f if line.startswith("(")]
        got = np.array(rows, dtype=np.float32).reshape(-1)
    else:
        got = np.fromfile(args.candidate, dtype="<f4")
    if ref.size != got.size or ref.size == 0:
        print(f"FAIL: {got.size} logits, expected {ref.size}")
        return 1
    # Relative to the size of the logits row: |got - ref| <= rtol * max|ref|.
    scale = np.abs(ref).max()
    err = np.abs(got - ref).max()
    if err > args.rtol * scale:
        print(f"FAIL: max |difference| {err:.3g} exceeds {args.rtol} x {scale:.3g}")
        return 1
    agree = ""
    if args.top1:
        rows_ref, rows_got = ref.reshape(-1, args.vocab), got.reshape(-1, args.vocab)
        same = int((rows_ref.argmax(1) == rows_got.argmax(1)).sum())
        if same < args.top1:
            print(f"FAIL: the largest logit agrees in {same} of {len(rows_ref)} rows, "
                  f"fewer than {args.top1}")
            return 1
        agree = f"; largest logit agrees in {same} of {len(rows_ref)} rows"
    print(f"PASS {ref.size} logits, max |difference| {err:.3g} ({err / scale:.2g} relative){agree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
