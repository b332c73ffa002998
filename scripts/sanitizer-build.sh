#!/usr/bin/env bash
# Configures build/fuzz (clang, ASan + UBSan on everything it compiles, -DCRAMMER_FUZZ=ON) once
# and builds the given targets there. Used by scripts/fuzz.sh and scripts/asan-tests.sh.
#   bash scripts/sanitizer-build.sh TARGET...
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang++ >/dev/null || { echo "sanitizer-build.sh: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 2; }
build=build/fuzz
if [ ! -f "$build/build.ninja" ]; then
  # LibTorch only for CMake's sake: the targets built here (torch-free layers) never include it.
  mapfile -t torch < <(bash scripts/venv.sh --cmake-args)
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCRAMMER_FUZZ=ON -DCRAMMER_BUILD_BENCH=OFF -DCRAMMER_BUILD_APP=ON "${torch[0]}" >/dev/null
fi
[ $# -eq 0 ] || cmake --build "$build" --target "$@"  # none: configure only
