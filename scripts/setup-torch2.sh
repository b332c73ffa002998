#!/usr/bin/env bash
# Builds crammer against LibTorch 2.x: the one inside a pip-installed PyTorch, as GPU users do.
# Creates a git-ignored venv with the versions pinned in scripts/python-requirements.txt (torch,
# transformers, tokenizers, safetensors), then configures and builds with Ninja. Idempotent and
# quick when the venv and the build are there. The Debian packages (MPI, HDF5, ...) come from
# scripts/install-packages.sh, as for the 1.13 build.
#   bash scripts/setup-torch2.sh              # build/torch2: every target, CPU options
#   bash scripts/setup-torch2.sh --cuda       # build/torch2-cuda: CRAMMER_WITH_CUDA/NCCL=ON
#   bash scripts/setup-torch2.sh [--cuda] crammer cram_bench   # only these Ninja targets
# Environment: CRAMMER_VENV (default .venv), CRAMMER_WHEELHOUSE (downloaded wheels, kept across
# clones; default ~/.cache/crammer/wheels), BUILD_DIR, CRAMMER_CMAKE_ARGS, CRAMMER_BUILD_JOBS.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cuda=0
if [ "${1:-}" = "--cuda" ]; then
  cuda=1
  shift
fi

bash "$here/scripts/install-packages.sh"

# The venv: rebuilt only when the pinned requirements change. Wheels are downloaded once into
# the wheelhouse (the torch wheel and its CUDA libraries are several GB), then installed from it.
venv=${CRAMMER_VENV:-"$here/.venv"}
wheels=${CRAMMER_WHEELHOUSE:-"${XDG_CACHE_HOME:-$HOME/.cache}/crammer/wheels"}
req="$here/scripts/python-requirements.txt"
stamp="$venv/.crammer-requirements.txt"
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  echo "setup-torch2: creating $venv with $(grep -v '^#' "$req" | tr '\n' ' ')"
  python3 -m venv "$venv"
  mkdir -p "$wheels"
  if ! "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req" 2>/dev/null; then
    "$venv/bin/pip" download -q -d "$wheels" -r "$req"
    "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req"
  fi
  cp "$req" "$stamp"
fi

# LibTorch of the wheel. Its own root goes first in CMAKE_PREFIX_PATH: TorchConfig looks for
# libtorch.so under <prefix>/lib before the system paths, where Debian's 1.13 would be found.
torch_root=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
torch_version=$("$venv/bin/python" -c 'import torch; print(torch.__version__)')
# CRAMMER_REFERENCE_PYTHON: the venv's transformers judges crammer live (tests/reference).
args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$torch_root;$torch_root/share/cmake"
      "-DCRAMMER_REFERENCE_PYTHON=$venv/bin/python")
if [ "$cuda" = 1 ]; then
  # The wheel's NCCL (what runs beside its LibTorch) and /usr/local/cuda's toolkit for headers.
  nv="$(dirname "$torch_root")/nvidia"
  args+=(-DCRAMMER_WITH_CUDA=ON -DCRAMMER_WITH_NCCL=ON "-DCUDAToolkit_ROOT=${CUDA_HOME:-/usr/local/cuda}"
         "-DNCCL_INCLUDE_DIR=$nv/nccl/include" "-DNCCL_LIBRARY=$(ls "$nv"/nccl/lib/libnccl.so* | head -1)")
  BUILD_DIR=${BUILD_DIR:-"$here/build/torch2-cuda"}
else
  BUILD_DIR=${BUILD_DIR:-"$here/build/torch2"}
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$here" -B "$BUILD_DIR" -G Ninja "${args[@]}" ${CRAMMER_CMAKE_ARGS:-}
fi
export CCACHE_BASEDIR="$here"
ninja -C "$BUILD_DIR" -j "${CRAMMER_BUILD_JOBS:-$(nproc)}" "$@"
echo "setup-torch2: built $BUILD_DIR against LibTorch $torch_version ($torch_root)"
