#!/usr/bin/env bash
# Sets up and builds crammer: the Debian packages (scripts/install-packages.sh), the pinned PyTorch
# wheel in a git-ignored venv (scripts/venv.sh), then CMake + Ninja against that wheel's LibTorch
# into build/release. Idempotent and quick when everything is there.
#   bash scripts/setup.sh            # everything (tests, benchmarks)
#   bash scripts/setup.sh crammer    # only the crammer program (what the demo needs)
# Where a CUDA toolkit is found (nvcc on PATH or /usr/local/cuda) the build has CUDA and NCCL ON
# (the wheel's NCCL, the toolkit's headers): the build GPU clusters run, and it runs on a CPU too.
# Environment: CRAMMER_CUDA=auto|on|off (default auto), BUILD_DIR, CRAMMER_CMAKE_ARGS,
# CRAMMER_BUILD_JOBS, and scripts/venv.sh's CRAMMER_VENV / CRAMMER_WHEELHOUSE.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/install-packages.sh"
mapfile -t args < <(bash "$here/scripts/venv.sh" --cmake-args)
venv=${CRAMMER_VENV:-"$here/.venv"}

cuda_root=""
if command -v nvcc >/dev/null; then
  cuda_root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
elif [ -d "${CUDA_HOME:-/usr/local/cuda}" ]; then
  cuda_root=${CUDA_HOME:-/usr/local/cuda}
fi
case "${CRAMMER_CUDA:-auto}" in
  auto) [ -n "$cuda_root" ] && cuda=1 || cuda=0 ;;
  on) [ -n "$cuda_root" ] || { echo "setup: CRAMMER_CUDA=on but no CUDA toolkit (nvcc or /usr/local/cuda)" >&2; exit 2; }
      cuda=1 ;;
  off) cuda=0 ;;
  *) echo "setup: CRAMMER_CUDA=${CRAMMER_CUDA}: expected auto, on or off" >&2; exit 2 ;;
esac
if [ "$cuda" = 1 ]; then
  nv=$("$venv/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia"))')
  nccl_lib=$(ls "$nv"/nccl/lib/libnccl.so* 2>/dev/null | head -1)
  [ -n "$nccl_lib" ] || { echo "setup: the torch wheel brought no NCCL under $nv/nccl (CRAMMER_CUDA=off builds without)" >&2; exit 2; }
  args+=(-DCRAMMER_WITH_CUDA=ON -DCRAMMER_WITH_NCCL=ON "-DCUDAToolkit_ROOT=$cuda_root"
         "-DNCCL_INCLUDE_DIR=$nv/nccl/include" "-DNCCL_LIBRARY=$nccl_lib")
fi

BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$here" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${args[@]}" ${CRAMMER_CMAKE_ARGS:-}
fi
# Paths relative to the checkout in ccache's keys, so another clone reuses the cache.
export CCACHE_BASEDIR="$here"
ninja -C "$BUILD_DIR" -j "${CRAMMER_BUILD_JOBS:-$(nproc)}" "$@"
torch_version=$("$venv/bin/python" -c 'import torch; print(torch.__version__)')
echo "setup: built $BUILD_DIR against LibTorch $torch_version (CUDA+NCCL $([ "$cuda" = 1 ] && echo ON || echo OFF))"
