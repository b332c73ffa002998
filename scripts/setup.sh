#!/usr/bin/env bash
# Installs every Debian package crammer needs (build, runtime, tests, analysis, Slurm tests),
# then configures and builds with Ninja. Idempotent: a machine that has everything skips apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libyaml-cpp-dev libboost-program-options-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libpcre2-dev libsentencepiece-dev sentencepiece libicu-dev
  python3-h5py python3-pandas python3-matplotlib python3-numpy
  slurm-wlm
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Configure and build (Ninja, ccache). BUILD_DIR and extra CMake flags may be overridden.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$here" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CRAMMER_CMAKE_ARGS:-}
fi
jobs=${CRAMMER_BUILD_JOBS:-$(nproc)}
ninja -C "$BUILD_DIR" -j "$jobs"
echo "setup: built $BUILD_DIR/src/app/crammer"
