#!/usr/bin/env bash
# The whole test suite against LibTorch 2.x (a pip-installed PyTorch): scripts/setup-torch2.sh
# builds build/torch2, then ctest runs every test there, as scripts/test.sh does for 1.13.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup-torch2.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BUILD_DIR:-$here/build/torch2}" --output-on-failure -j "${CRAMMER_TEST_JOBS:-2}" "$@"
