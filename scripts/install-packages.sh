#!/usr/bin/env bash
# Installs every Debian package crammer needs (build, runtime, tests, analysis, Slurm tests,
# fuzzing: clang and its sanitizer/libFuzzer runtime). LibTorch is not among them: it comes from
# the pinned PyTorch wheel (scripts/venv.sh). Idempotent and quick when everything is present.
# Called by setup.sh; builds nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3-venv
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

