#!/usr/bin/env bash
# Installs every Debian package crammer needs (scripts/install-packages.sh), then configures and
# builds against Debian's LibTorch 1.13 with Ninja. Idempotent: a machine that has everything
# skips apt. LibTorch 2.x (a pip-installed PyTorch): scripts/setup-torch2.sh.
#   bash scripts/setup.sh            # everything (tests, benchmarks)
#   bash scripts/setup.sh crammer    # only the crammer program (what the demo needs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/install-packages.sh"

# Configure and build (Ninja, ccache). BUILD_DIR and extra CMake flags may be overridden;
# arguments name the Ninja targets to build (default: all, tests included).
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$here" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CRAMMER_CMAKE_ARGS:-}
fi
jobs=${CRAMMER_BUILD_JOBS:-$(nproc)}
# Paths relative to the checkout in ccache's keys, so another clone reuses the cache.
export CCACHE_BASEDIR="$here"
ninja -C "$BUILD_DIR" -j "$jobs" "$@"
echo "setup: built $BUILD_DIR/src/app/crammer"
