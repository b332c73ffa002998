#!/usr/bin/env bash
# The GoogleTest unit tests under ASan + UBSan (build/fuzz, clang): every executable of the given
# test layers, run from the repository root as ctest runs them. A sanitizer report fails it.
#   bash scripts/asan-tests.sh                 # the torch-free layers (what CI runs)
#   bash scripts/asan-tests.sh --layers all    # every layer, LibTorch ones included (long build)
#   bash scripts/asan-tests.sh --layers "text store"
set -euo pipefail
cd "$(dirname "$0")/.."
layers="util config text store sweep slurm"
while [ $# -gt 0 ]; do
  case "$1" in
    --layers) layers=$2; shift 2 ;;
    *) echo "asan-tests.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
build=build/fuzz
bash scripts/sanitizer-build.sh
[ "$layers" = all ] && layers=$(ls -d tests/*/ | xargs -n1 basename | tr '\n' ' ')
pattern=$(echo $layers | sed 's/ /|/g')
exes=$(ninja -C "$build" -t targets all | grep -oE "^tests/($pattern)/[a-z0-9_]+_test_[a-z0-9_]+:" | tr -d ':' | sort -u)
[ -n "$exes" ] || { echo "asan-tests.sh: no test executables in layers: $layers" >&2; exit 2; }
bash scripts/sanitizer-build.sh $exes
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
mkdir -p "$build/asan-logs"
for exe in $exes; do
  log="$build/asan-logs/$(basename "$exe").log"
  if "$build/$exe" >"$log" 2>&1; then
    echo "$(basename "$exe"): $(grep -E '^\[  PASSED  \]' "$log" | tail -1)"
  else
    status=1
    echo "$(basename "$exe"): FAILED — $(grep -m1 -E 'ERROR: |runtime error|\[  FAILED  \]' "$log" || true); log $log"
  fi
done
exit $status
