#!/usr/bin/env bash
# Whole-model benchmark: decode and prefill speed of compiled models against
# the memory roofline measured in the same run (docs/PERFORMANCE.md).
#
#   bench/e2e.sh [--big] [--threads 1,2] [--variants LIST] [--out DIR] [--peers] [--share]
#
# Builds a llama-shaped model with random weights (110M parameters: dim 768,
# hidden 2048, 12 layers, 12 heads, vocab 32000, context 1024; with --big
# also 1.1B: dim 2048, hidden 5632, 22 layers, 32 heads, 4 KV heads, context
# 2048), compiles each variant, and times with quant-run --time:
#   decode at the start: a 128-token prompt, then 128 steps (positions 128..255);
#   decode late: a prompt of context-128 tokens, then 128 steps (up to the end);
#   prefill: the 128-token prompt in one call, and the late run's prompt
#   of context-128 tokens (where attention over the prompt weighs more).
# Next to each time: the fraction of the roofline, (bytes of the weights at
# their stored size + bytes of the live KV cache read per token) / read
# bandwidth of the same thread count (bench/read_bandwidth.cpp, measured
# here), and for prefill the GFLOP/s of the linear layers. --peers adds
# llama.cpp (bench/peers/llama_cpp_peer.py) on the same model as Q4_0/Q8_0.
# --share also builds the M=128 kernels of each model's linear layers with
# bench/build.sh (the options quant-compile picks for this CPU) and times them
# alone with qnt_bench before and after the model runs: "share" is their time
# for one prompt's layers over the whole prefill (100% = nothing but the GEMMs).
# Variants (--variants, comma-separated names): f32, int8 (g32, f16 scales:
# llama.cpp's Q8_0), int4g32 (f16 scales: Q4_0), int4g128, with
# quant-compile's default activations (int8 where the CPU has integer dot
# products), each also with an -f32x suffix for --activations=f32, and a
# -kv32, -kv8, -kv16 or -kv4 suffix (after -f32x) for --kv-cache=f32, i8, f16
# or i4; without one, quant-compile's default (f16 with quantized weights, f32
# for the f32 model). Default: every one without a -kv suffix.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/e2e
THREADS=1,2
BIG=0
PEERS=0
SHARE=0
VARIANTS=f32,int8,int8-f32x,int4g32,int4g32-f32x,int4g128,int4g128-f32x
while [ $# -gt 0 ]; do
  case $1 in
    --big) BIG=1 ;;
    --peers) PEERS=1 ;;
    --share) SHARE=1 ;;
    --threads) THREADS=$2; shift ;;
    --variants) VARIANTS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "e2e.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
  shift
done
PY=/usr/bin/python3
BIN=$ROOT/build/bin
mkdir -p "$OUT/models" "$OUT/libs"
bash "$ROOT/scripts/build.sh" quant-import quant-compile quant-run >/dev/null
clang++-22 -O2 -march=native -std=c++17 -fopenmp "$ROOT/bench/read_bandwidth.cpp" \
  -o "$OUT/read_bandwidth" -L/usr/lib/llvm-22/lib -Wl,-rpath,/usr/lib/llvm-22/lib

flags_of() {
  local base=${1%-kv8}
  base=${base%-kv16}
  base=${base%-kv32}
  base=${base%-kv4}
  case ${base%-f32x} in
    f32) echo "--bits=none" ;;
    int8) echo "--bits=8 --group=32 --scale-type=f16" ;;
    int4g32) echo "--bits=4 --group=32 --scale-type=f16" ;;
    int4g128) echo "--bits=4 --group=128 --scale-type=f16" ;;
    *) echo "e2e.sh: unknown variant $1" >&2; exit 1 ;;
  esac
  [[ $base == *-f32x ]] && echo "--activations=f32"
  [[ $1 == *-kv32 ]] && echo "--kv-cache=f32"
  [[ $1 == *-kv8 ]] && echo "--kv-cache=i8"
  [[ $1 == *-kv16 ]] && echo "--kv-cache=f16"
  [[ $1 == *-kv4 ]] && echo "--kv-cache=i4"
  return 0
}

models=(110m)
[ $BIG = 1 ] && models+=(1b)
declare -A SHAPE=(
  [110m]="--dim 768 --hidden 2048 --layers 12 --heads 12 --kv-heads 12 --vocab 32000 --seq 1024"
  [1b]="--dim 2048 --hidden 5632 --layers 22 --heads 32 --kv-heads 4 --vocab 32000 --seq 2048")

# --share: the linear layers of one transformer layer of model $1 as N:K
# (q, k, v, o, w1, w3, w2; repeated shapes are built once).
layer_shapes() {
  local shape=${SHAPE[$1]} dim hidden heads kv
  dim=$(echo "$shape" | sed -E 's/.*--dim ([0-9]+).*/\1/')
  hidden=$(echo "$shape" | sed -E 's/.*--hidden ([0-9]+).*/\1/')
  heads=$(echo "$shape" | sed -E 's/.*--heads ([0-9]+).*/\1/')
  kv=$(echo "$shape" | sed -E 's/.*--kv-heads ([0-9]+).*/\1/')
  echo "$dim:$dim $((dim * kv / heads)):$dim $hidden:$dim $dim:$hidden"
}
kernel_specs() {
  local m v bits group
  for m in "${models[@]}"; do
    for v in ${VARIANTS//,/ }; do
      case ${v%%-*} in
        int8) bits=8 group=32 ;; int4g32) bits=4 group=32 ;; int4g128) bits=4 group=128 ;; *) continue ;;
      esac
      [[ $v == *-f32x* ]] && continue
      for shape in $(layer_shapes "$m"); do
        IFS=: read -r n k <<<"$shape"
        echo "e2e_${m}_${v%%-*}_${n}x${k}:$n:$k:$bits:$group:activations=i8,int-dot=auto"
      done
    done
  done | sort -u
}
time_kernels() { # $1: output file
  [ $SHARE = 1 ] || return 0
  "$OUT/kernels/qnt_bench" --m 128 --threads "$THREADS" --no-naive >"$1" 2>&1
}
if [ $SHARE = 1 ]; then
  mapfile -t specs < <(kernel_specs)
  [ ${#specs[@]} -gt 0 ] || { echo "e2e.sh: --share needs a quantized variant" >&2; exit 1; }
  echo "== building ${#specs[@]} M=128 kernels for --share" >&2
  QNT_BUILD_DIR=$ROOT/build bash "$ROOT/bench/build.sh" "$OUT/kernels" "${specs[@]}" 2>"$OUT/kernels.log" ||
    { cat "$OUT/kernels.log" >&2; exit 1; }
fi

# Bandwidth first, on a quiet machine, and again at the end.
bandwidth() { "$OUT/read_bandwidth" --threads "$THREADS" --mib 1024 --reps 3; }
bw_before=$(bandwidth)
echo "$bw_before" | sed 's/^/bandwidth before: /' >&2
rm -f "$OUT"/kernels-*.txt
time_kernels "$OUT/kernels-before.txt"

results=$OUT/results.txt
: >"$results"
rm -f "$OUT/peers.txt"
for m in "${models[@]}"; do
  bin=$OUT/models/$m.bin
  # The model is imported again when the importer is newer: the IR it
  # writes (RoPE's form, say) is part of what is timed.
  if [ ! -f "$OUT/models/$m.mlirbc" ] ||
     [ "$BIN/quant-import" -nt "$OUT/models/$m.mlirbc" ]; then
    echo "== making the $m model" >&2
    $PY "$ROOT/scripts/make_tiny_llama.py" "$bin" ${SHAPE[$m]} --unshared
    "$BIN/quant-import" llama2c "$bin" -o "$OUT/models/$m.mlirbc" -q
    rm -f "$bin"
  fi
  seq=$(echo "${SHAPE[$m]}" | sed -E 's/.*--seq ([0-9]+).*/\1/')
  vocab=$(echo "${SHAPE[$m]}" | sed -E 's/.*--vocab ([0-9]+).*/\1/')
  prompt() { $PY -c "print(' '.join(str((i * 7 + 3) % $vocab) for i in range($1)))"; }
  short=$(prompt 128)
  late=$(prompt $((seq - 128)))
  for v in ${VARIANTS//,/ }; do
    lib=$OUT/libs/$m-$v.so
    # A library is compiled again when the compiler or the model is newer:
    # a kept one would time the code of an older compiler.
    if [ ! -f "$lib" ] || [ "$BIN/quant-compile" -nt "$lib" ] ||
       [ "$OUT/models/$m.mlirbc" -nt "$lib" ]; then
      echo "== quant-compile $m $v: $(flags_of "$v" | tr '\n' ' ')" >&2
      "$BIN/quant-compile" "$OUT/models/$m.mlirbc" $(flags_of "$v") -o "$lib" -q
    fi
    for t in ${THREADS//,/ }; do
      a=$("$BIN/quant-run" "$lib" --tokens "$short" --steps 129 --threads "$t" --time 2>&1 >/dev/null)
      b=$("$BIN/quant-run" "$lib" --tokens "$late" --steps 128 --threads "$t" --time 2>&1 >/dev/null)
      prefill=$(echo "$a" | sed -nE 's/.*prefill: ([0-9.]+) ms for ([0-9]+) tokens.*/\1/p')
      early=$(echo "$a" | sed -nE 's/.*decode: .* median ([0-9.]+) ms.*/\1/p')
      lateMs=$(echo "$b" | sed -nE 's/.*decode: .* median ([0-9.]+) ms.*/\1/p')
      prefillLate=$(echo "$b" | sed -nE 's/.*prefill: ([0-9.]+) ms for ([0-9]+) tokens.*/\1/p')
      echo "model=$m variant=$v threads=$t prefill128_ms=$prefill decode_early_ms=$early decode_late_ms=$lateMs prefill_late_ms=$prefillLate" | tee -a "$results" >&2
    done
  done
done
bw_after=$(bandwidth)
echo "$bw_after" | sed 's/^/bandwidth after: /' >&2
time_kernels "$OUT/kernels-after.txt"

if [ $PEERS = 1 ]; then
  for m in "${models[@]}"; do
    bin=$OUT/models/$m.bin
    [ -f "$bin" ] || $PY "$ROOT/scripts/make_tiny_llama.py" "$bin" ${SHAPE[$m]} --unshared
    for q in q4_0 q8_0; do
      gguf=$OUT/models/$m-$q.gguf
      [ -f "$gguf" ] || $PY "$ROOT/bench/peers/llama_cpp_peer.py" convert "$bin" "$gguf" --type $q
      $PY "$ROOT/bench/peers/llama_cpp_peer.py" bench "$gguf" --threads "$THREADS" \
          --decode 128 --prefill 128 --position $(( $(echo "${SHAPE[$m]}" | sed -E 's/.*--seq ([0-9]+).*/\1/') - 128 )) \
        | sed "s/^/model=$m /" | tee -a "$OUT/peers.txt" >&2
    done
    rm -f "$bin"
  done
fi

# The table: times, roofline fractions and GFLOP/s.
$PY - "$results" "$OUT/peers.txt" <<EOF
import re, sys
shapes = {"110m": dict(dim=768, hidden=2048, layers=12, heads=12, kv=12, vocab=32000, seq=1024),
          "1b": dict(dim=2048, hidden=5632, layers=22, heads=32, kv=4, vocab=32000, seq=2048)}
bw = {}
for line in """$bw_before
$bw_after""".splitlines():
    t, g = re.search(r"threads=(\d+) read_GBps=([\d.]+)", line).groups()
    bw.setdefault(int(t), []).append(float(g))
# The bandwidth of a thread count: the mean of the runs before and after.
bw = {t: sum(v) / len(v) for t, v in bw.items()}
def bits(variant):
    base = re.sub(r"-kv\d+$", "", variant).replace("-f32x", "")
    return {"f32": (32, 0), "int8": (8, 32), "int4g32": (4, 32), "int4g128": (4, 128)}[base]
def layer_mats(s):
    """N x K of one layer's q, k, v, o, w1, w3 and w2."""
    kvd = s["dim"] * s["kv"] // s["heads"]
    return [(s["dim"], s["dim"]), (kvd, s["dim"]), (kvd, s["dim"]), (s["dim"], s["dim"]),
            (s["hidden"], s["dim"]), (s["hidden"], s["dim"]), (s["dim"], s["hidden"])]
def weight_bytes(s, variant):
    b, g = bits(variant)
    mats = layer_mats(s) * s["layers"] + [(s["vocab"], s["dim"])]
    total = 0
    for n, k in mats:
        total += n * k * b / 8 + (n * (k // g) * 2 if g else 0)
    # Norm gains and the embedding row (f32) are small but read too.
    total += (2 * s["layers"] + 1) * s["dim"] * 4 + s["dim"] * 4
    return total, sum(n * k for n, k in mats) - s["vocab"] * s["dim"]
def kv_bytes(s, pos, variant):
    # f32 rows, f16 rows, or i8 records: per position head size codes and
    # a multiplier per kv head, and a 2-byte step; i4 (quant-compile's
    # defaults, blocks of 32 and a window of 64; I4CacheLayout), keys and
    # values alike: per position and kv head head/2 code bytes and 3 * head
    # / 32 of block scales and zero points, and the window's 64 slots of
    # head + 2 bytes. Without a suffix, quant-compile's default: f16 with
    # quantized weights.
    head = s["dim"] // s["heads"]
    m = re.search(r"-kv(\d+)$", variant)
    fmt = m.group(1) if m else ("32" if bits(variant)[0] == 32 else "16")
    if fmt == "4":
        per_pos = s["kv"] * (head / 2 + 3 * head / 32)
        window = s["kv"] * 64 * (head + 2)
        return 2 * s["layers"] * ((pos + 1) * per_pos + window)
    row = {"8": s["kv"] * (head + 1) + 2, "16": s["kv"] * head * 2,
           "32": s["kv"] * head * 4}[fmt]
    return 2 * s["layers"] * (pos + 1) * row
print(f"read bandwidth (GB/s, mean of before/after): " + ", ".join(f"{t} thread(s) {g:.1f}" for t, g in sorted(bw.items())))
# --share: qnt_bench's hot M=128 times (ms) by kernel name and thread count,
# before and after the model runs.
kernel_ms = {}
for name in ("before", "after"):
    try:
        text = open(f"$OUT/kernels-{name}.txt").read()
    except OSError:
        continue
    for row in text.splitlines():
        f = row.split()
        if len(f) > 6 and f[2] == "128" and f[4] == "hot":
            kernel_ms.setdefault((f[-1], int(f[3])), []).append(float(f[5]))
def share(model, variant, threads, prefill_ms):
    """The prompt's linear layers run alone, as a fraction of the prefill
    (the classifier's one row left out): the range over the kernel timings
    before and after."""
    base = variant.split("-")[0]
    if "-f32x" in variant:
        return ""
    keys = [(f"e2e_{model}_{base}_{n}x{k}", threads) for n, k in layer_mats(shapes[model])]
    if any(key not in kernel_ms for key in keys):
        return ""
    rounds = min(len(kernel_ms[key]) for key in keys)
    times = [sum(kernel_ms[key][i] for key in keys)
             * shapes[model]["layers"] / prefill_ms for i in range(rounds)]
    lo, hi = min(times), max(times)
    return f"{100 * lo:.0f}%" if round(100 * lo) == round(100 * hi) else f"{100 * lo:.0f}-{100 * hi:.0f}%"
print(f"{'model':6} {'variant':12} {'thr':>3} | {'decode@128-255':>14} {'roof%':>6} | {'decode@end':>10} {'roof%':>6} | {'prefill 128':>11} {'tok/s':>7} {'GFLOP/s':>8}" + (f" {'share':>8}" if kernel_ms else "") + f" | {'prefill ctx-128':>15} {'tok/s':>6}")
for line in open(sys.argv[1]):
    f = dict(kv.split("=") for kv in line.split())
    s = shapes[f["model"]]
    t = int(f["threads"])
    wb, layer_params = weight_bytes(s, f["variant"])
    early, late, pre = float(f["decode_early_ms"]), float(f["decode_late_ms"]), float(f["prefill128_ms"])
    roof = lambda ms, pos: 100 * (wb + kv_bytes(s, pos, f["variant"])) / (bw[t] * 1e9) / (ms / 1e3)
    gflops = 2 * layer_params * 128 / (pre / 1e3) / 1e9
    print(f"{f['model']:6} {f['variant']:12} {t:3} | {early:11.2f} ms {roof(early, 192):5.0f}% | "
          f"{late:7.2f} ms {roof(late, s['seq'] - 64):5.0f}% | {pre:8.1f} ms {128 / pre * 1e3:7.0f} {gflops:8.1f}"
          + (f" {share(f['model'], f['variant'], t, pre):>8}" if kernel_ms else "")
          + f" | {float(f['prefill_late_ms']):12.1f} ms {(s['seq'] - 128) / float(f['prefill_late_ms']) * 1e3:6.0f}")
try:
    peers = open(sys.argv[2]).read().strip()
except OSError:
    peers = ""
if peers:
    print("peers:")
    print(peers)
EOF
