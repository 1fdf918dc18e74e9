#!/usr/bin/env bash
# Runs every libFuzzer target of the sanitizer build for a while:
#   scripts/fuzz.sh [SECONDS per target, default 30] [NAME...]
# Targets are the executables in build-sanitize/fuzz/ (fuzz/CMakeLists.txt,
# add_qnt_fuzzer); target NAME is seeded from the files fuzz/NAME.seeds lists
# (globs relative to the repository, one per line; MLIR split into its
# "// -----" chunks). Findings go to build-sanitize/fuzz-findings/NAME/ and
# make the script fail; the grown corpus stays in build-sanitize/fuzz-corpus/.
# Prints one line per target: "fuzz NAME: N runs in S s, ok" (or the finding).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
dir=${QNT_BUILD_DIR:-build-sanitize}
status=0
shopt -s nullglob
targets=("$dir"/fuzz/*-fuzzer)
# Named targets only, when some are given.
if [ $# -gt 1 ]; then
  shift
  targets=()
  for name in "$@"; do targets+=("$dir/fuzz/$name"); done
fi
[ ${#targets[@]} -eq 0 ] && { echo "fuzz: no targets in $dir/fuzz (build with scripts/test.sh --sanitize)"; exit 1; }
for target in "${targets[@]}"; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=$dir/fuzz-corpus/$name
  findings=$dir/fuzz-findings/$name
  mkdir -p "$corpus" "$findings"
  if [ -f "fuzz/$name.seeds" ]; then
    while read -r pattern; do
      [[ -z "$pattern" || "$pattern" == \#* ]] && continue
      for file in $pattern; do
        # One seed per "// -----" chunk, named after the file and chunk.
        awk -v out="$corpus/seed-$(echo "$file" | tr '/' '_')" '
          /^\/\/ -----/ { n++; next } { print > (out "-" n+0) }' "$file"
      done
    done < "fuzz/$name.seeds"
  fi
  # The checkpoint readers start from small valid files that the tests'
  # generators write.
  if [ ! -e "$corpus/.generated" ]; then
    seeds=$dir/fuzz-seeds
    mkdir -p "$seeds"
    case $name in
      gguf-fuzzer)
        /usr/bin/python3 test/helpers/make_bad_gguf.py "$seeds/gguf" >/dev/null &&
          cp "$seeds/gguf/good.gguf" "$seeds/gguf/vocab-size.gguf" "$corpus/" ;;
      hf-fuzzer)
        /usr/bin/python3 test/helpers/make_bad_hf.py "$seeds/hf" >/dev/null &&
          cat "$seeds/hf/good/config.json" <(printf '\0') "$seeds/hf/good/model.safetensors" > "$corpus/good" ;;
      llama2c-fuzzer)
        /usr/bin/python3 scripts/make_tiny_llama.py "$seeds/tiny.bin" >/dev/null &&
          head -c 4096 "$seeds/tiny.bin" > "$corpus/header" ;;
    esac
    touch "$corpus/.generated"
  fi
  log=$findings/log.txt
  # -timeout: one input may take at most 20 s; -rss_limit_mb bounds memory.
  ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$target" "$corpus" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=2048 -max_len=16384 -seed=1 -print_final_stats=1 \
      -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz $name: ${runs:-0} runs in $seconds s, ok"
  else
    status=1
    echo "fuzz $name: FAILED after ${runs:-?} runs (exit $rc); log and input in $findings/"
    grep -E "^==[0-9]+==ERROR|runtime error|^SUMMARY|deadly signal" "$log" | head -5
  fi
done
exit $status
