#!/usr/bin/env bash
# Sets up, builds and runs every qnt test (lit + FileCheck, GoogleTest via lit).
# Ends with one line "N passed, N failed, N skipped" for CI.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

log=build/check-qnt.log
cmake --build build --target check-qnt 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() { awk -v k="$1" '$1 == k":" { n += $2 } END { print n + 0 }' "$log"; }
passed=$(( $(count Passed) + $(count "Expectedly") ))
failed=$(( $(count Failed) + $(count Unresolved) + $(count "Unexpectedly") + $(count "Timed") ))
skipped=$(( $(count Unsupported) + $(count Skipped) + $(count Excluded) ))
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
