#!/usr/bin/env bash
# Sets up, builds and runs every qnt test (lit + FileCheck, GoogleTest via lit).
# Ends with one line "N passed, N failed, N skipped" for CI.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

log=build/check-qnt.log
cmake --build build --target check-qnt 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# lit's summary lines look like "  Passed: 42 (100.00%)".
count() { sed -nE "s/^ +$1 *: +([0-9]+).*/\1/p" "$log" | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(( $(count Passed) + $(count "Expectedly Failed") ))
failed=$(( $(count Failed) + $(count Unresolved) + $(count "Unexpectedly Passed") + $(count "Timed Out") ))
skipped=$(( $(count Unsupported) + $(count Skipped) + $(count Excluded) ))
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
