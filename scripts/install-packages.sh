#!/usr/bin/env bash
# Installs every Debian package crammer needs (build, runtime, tests, analysis, Slurm tests,
# fuzzing: clang and its sanitizer/libFuzzer runtime) and selects OpenBLAS on OpenMP. Idempotent and quick when everything is present. Called by
# setup.sh and setup-torch2.sh; builds nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libyaml-cpp-dev libboost-program-options-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libpcre2-dev libsentencepiece-dev sentencepiece libicu-dev
  python3-h5py python3-pandas python3-matplotlib python3-numpy python3-yaml
  slurm-wlm
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# BLAS: LibTorch's intra-op threads are OpenMP threads; OpenBLAS built on OpenMP shares them,
# where the pthread build adds its own pool that fights them for the cores (measured in
# docs/bench/cram.md: 1.6-4x slower small-batch cramming, 1.8x slower pretraining). Debian
# prefers the pthread build when both are installed, so select the OpenMP one explicitly.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  target=/usr/lib/$arch/openblas-openmp/$lib
  if [ -e "$target" ] && [ "$(readlink -f "/usr/lib/$arch/$lib")" != "$(readlink -f "$target")" ]; then
    ${SUDO:-} update-alternatives --quiet --set "$lib-$arch" "$target"
  fi
done
