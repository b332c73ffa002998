#!/usr/bin/env bash
# The pinned Python side of crammer: a git-ignored venv (default .venv, made with the python3 on
# PATH) holding scripts/python-requirements.txt: the PyTorch wheel whose LibTorch every build
# links, and transformers/tokenizers/safetensors, the reference the tests judge crammer by.
# Rebuilt only when the pinned list changes. Wheels are downloaded once into a wheelhouse kept
# across clones (the torch wheel and its CUDA libraries are ~3 GB), then installed from it.
#   bash scripts/venv.sh                # make sure the venv is there
#   bash scripts/venv.sh --cmake-args   # ... and print the CMake arguments that find its LibTorch
# Environment: CRAMMER_VENV (default .venv), CRAMMER_WHEELHOUSE (default ~/.cache/crammer/wheels).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${CRAMMER_VENV:-"$here/.venv"}
wheels=${CRAMMER_WHEELHOUSE:-"${XDG_CACHE_HOME:-$HOME/.cache}/crammer/wheels"}
req="$here/scripts/python-requirements.txt"
stamp="$venv/.crammer-requirements.txt"
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  echo "venv: creating $venv with $(grep -v '^#' "$req" | tr '\n' ' ')" >&2
  python3 -m venv "$venv"
  mkdir -p "$wheels"
  if ! "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req" 2>/dev/null; then
    "$venv/bin/pip" download -q -d "$wheels" -r "$req" >&2
    "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req" >&2
  fi
  cp "$req" "$stamp"
fi
if [ "${1:-}" = "--cmake-args" ]; then
  # The wheel's own root goes first in CMAKE_PREFIX_PATH: TorchConfig looks for libtorch.so under
  # <prefix>/lib before the system paths, where another LibTorch could be found.
  torch_root=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  echo "-DCMAKE_PREFIX_PATH=$torch_root;$torch_root/share/cmake"
  echo "-DCRAMMER_REFERENCE_PYTHON=$venv/bin/python"
fi
