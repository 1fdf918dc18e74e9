#!/usr/bin/env bash
# Configures (once) and builds qnt into build/. Usage: scripts/build.sh [ninja targets...]
# QNT_BUILD_DIR names another tree and QNT_CMAKE_ARGS adds CMake options when
# it is configured (scripts/test.sh --sanitize: build-sanitize/, -DQNT_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=${QNT_BUILD_DIR:-build}

if [ ! -f "$dir/build.ninja" ]; then
  # shellcheck disable=SC2086
  cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit ${QNT_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$dir" -- "$@"
