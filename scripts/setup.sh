#!/usr/bin/env bash
# Installs the Debian packages qnt needs to build and test. Idempotent: quiet
# and fast when everything is already there.
set -euo pipefail

packages=(
  cmake ninja-build
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 lld-22
  libgtest-dev libbenchmark-dev libopenblas-dev libomp-22-dev python3-numpy
  libclang-rt-22-dev  # ASan, UBSan, libFuzzer: scripts/test.sh --sanitize
)

# scripts/fuzz.sh: the sanitizer and libFuzzer runtimes of clang-22.
[ "${1:-}" = fuzz ] && packages+=(libclang-rt-22-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
