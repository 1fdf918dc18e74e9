#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz/ (clang-22, -DQNT_FUZZ=ON) and
# runs every target for N seconds each (default 30).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: fuzz-gguf fuzz-hf fuzz-llama2c)
# Each target's corpus lives in build-fuzz/corpus/TARGET (seeded with small
# valid files from the test generators); findings (crash-*, leak-*, timeout-*)
# go to build-fuzz/findings/TARGET and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
bash scripts/setup.sh fuzz

if [ ! -f build-fuzz/build.ninja ]; then
  cmake -G Ninja -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DQNT_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz-gguf fuzz-hf fuzz-llama2c)
ninja -C build-fuzz -j2 "${targets[@]}"

# Seeds: one small valid input per target.
py=/usr/bin/python3
seeds=build-fuzz/seeds
if [ ! -d "$seeds" ]; then
  mkdir -p "$seeds"
  $py test/tools/quant-import/Inputs/make_bad_gguf.py "$seeds/gguf"
  $py test/tools/quant-import/Inputs/make_bad_hf.py "$seeds/hf"
  $py scripts/make_tiny_llama.py "$seeds/tiny.bin"
fi
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    case $t in
      fuzz-gguf) cp "$seeds/gguf/good.gguf" "$seeds/gguf/vocab-size.gguf" "$corpus/" ;;
      fuzz-hf) cat "$seeds/hf/good/config.json" <(printf '\0') "$seeds/hf/good/model.safetensors" > "$corpus/good" ;;
      fuzz-llama2c) head -c 4096 "$seeds/tiny.bin" > "$corpus/header" ;;
    esac
  fi
done

status=0
for t in "${targets[@]}"; do
  findings=build-fuzz/findings/$t
  mkdir -p "$findings"
  echo "fuzz: $t for ${seconds} s" >&2
  if ! build-fuzz/fuzz/$t build-fuzz/corpus/$t -max_total_time="$seconds" \
      -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$findings/" 2> "build-fuzz/$t.log"; then
    echo "fuzz: $t found a problem; see build-fuzz/$t.log and $findings" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/$t.log" | sed "s/^/fuzz: $t: /" >&2 || true
done
exit $status
