#!/usr/bin/env bash
# Sets up, builds and runs every qnt test (lit + FileCheck, GoogleTest via lit).
#   scripts/test.sh             the build in build/ and its suite
#   scripts/test.sh --sanitize  then the same suite built with AddressSanitizer
#                               and UndefinedBehaviorSanitizer in build-sanitize/,
#                               and 30 s of every fuzz target (scripts/fuzz.sh);
#                               what CI runs (.ci/run)
# Ends with one line "N passed, N failed, N skipped" for CI (all stages).
# lit parameters go through LIT_OPTS: LIT_OPTS="--param long=0" skips the
# tests that take over a minute, which run by default (docs/TESTING.md).
set -uo pipefail
cd "$(dirname "$0")/.."
sanitize=0
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=1 ;;
    *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
  esac
done

passed=0 failed=0 skipped=0 status=0
# Builds the tree in $1 (QNT_CMAKE_ARGS configures it) and runs its suite;
# adds its counts to the totals.
suite() {
  local dir=$1 log=$1/check-qnt.log start=$SECONDS
  if ! QNT_BUILD_DIR=$dir bash scripts/build.sh; then
    echo "$dir: the build failed"
    failed=$((failed + 1)) status=1
    return
  fi
  cmake --build "$dir" --target check-qnt 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # lit's summary lines look like "  Passed: 42 (100.00%)".
  count() { sed -nE "s/^ +$1 *: +([0-9]+).*/\1/p" "$log" | awk '{ n += $1 } END { print n + 0 }'; }
  local p=$(( $(count Passed) + $(count "Expectedly Failed") ))
  local f=$(( $(count Failed) + $(count Unresolved) + $(count "Unexpectedly Passed") + $(count "Timed Out") ))
  local s=$(( $(count Unsupported) + $(count Skipped) + $(count Excluded) ))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$rc" -ne 0 ] && status=1
  echo "$dir: $p passed, $f failed, $s skipped ($((SECONDS - start)) s with the build)"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

suite build
if [ $sanitize -eq 1 ]; then
  QNT_CMAKE_ARGS=-DQNT_SANITIZE=ON suite build-sanitize
  start=$SECONDS
  fuzz_log=build-sanitize/fuzz.log
  bash scripts/fuzz.sh 30 | tee "$fuzz_log"
  [ "${PIPESTATUS[0]}" -ne 0 ] && status=1
  passed=$((passed + $(grep -c ', ok$' "$fuzz_log")))
  failed=$((failed + $(grep -c 'FAILED' "$fuzz_log")))
  echo "fuzzing: $((SECONDS - start)) s"
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
