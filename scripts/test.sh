#!/usr/bin/env bash
# Sets up (packages, the pinned PyTorch wheel, the build: scripts/setup.sh) and runs the whole test
# suite: unit, mpi, slurm, bench smoke tests and the live transformers reference checks.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Two cores: run tests two at a time; MPI and Slurm tests are serialised by CTest resource locks.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${CRAMMER_TEST_JOBS:-2}" "$@"
