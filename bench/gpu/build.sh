#!/usr/bin/env bash
# Builds gpu_cram_bench and reference_forward_tool against the LibTorch of PYTHON's PyTorch, as
# the LibTorch core alone (CRAMMER_CORE_ONLY): what bench/gpu/run.sh needs on a GPU machine that
# has PyTorch, CMake, ninja and a CUDA toolkit but not crammer's other libraries. Those come from
# bench/gpu/carry/deps (bench/gpu/pack.sh) when it is there, else from the system.
#   bash bench/gpu/build.sh BUILD_DIR [PYTHON]        (log on stdout; exit status of the build)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?BUILD_DIR}
python=${2:-python3}
torch_root=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCRAMMER_CORE_ONLY=ON
      "-DCMAKE_PREFIX_PATH=$torch_root;$torch_root/share/cmake")
deps="$here/bench/gpu/carry/deps/usr"
if [ -d "$deps" ]; then
  # Named one by one: the configs sit under lib/x86_64-linux-gnu, which CMake searches only where
  # the compiler reports that multiarch directory.
  lib="$deps/lib/x86_64-linux-gnu"
  args+=("-Dyaml-cpp_DIR=$lib/cmake/yaml-cpp" "-Dspdlog_DIR=$lib/cmake/spdlog" "-Dfmt_DIR=$lib/cmake/fmt"
         "-Dnlohmann_json_DIR=$deps/share/cmake/nlohmann_json")
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# A CUDA PyTorch's TorchConfig needs the CUDA toolkit: the one whose nvcc is on PATH.
if command -v nvcc >/dev/null; then
  args+=("-DCUDAToolkit_ROOT=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")")
elif [ -d /usr/local/cuda ]; then
  args+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
fi
echo "build: cmake ${args[*]}"
cmake -S "$here" -B "$build" "${args[@]}"
ninja -C "$build" gpu_cram_bench reference_forward_tool
