#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang + ASan + UBSan (build/fuzz) and runs
# each from its seeds; prints one line per target: executions, seconds, corpus size, result.
#   bash scripts/fuzz.sh [--runs N] [--targets "fuzz_wire fuzz_config ..."] [--jobs J]
# --runs: executions per target (default 1000000; CI uses a short run). A crash, leak or UBSan
# report stops that target, leaves the input in build/fuzz/findings/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1000000
targets="fuzz_wire fuzz_journal fuzz_config fuzz_hf_config fuzz_safetensors_header fuzz_safetensors_index fuzz_tokenizer_json fuzz_vocab_merges fuzz_bpe_encode"
jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
build=build/fuzz
bash scripts/sanitizer-build.sh fuzz_targets

# Seeds: tests/fuzz/seeds/<name> plus the project's own files of that kind.
seeds_of() {
  case "$1" in
    fuzz_config) echo "experiments" ;;
    fuzz_hf_config) echo "$(dirname tests/reference/fixtures/models/*/config.json | tr '\n' ' ') models/demo" ;;
    fuzz_safetensors_header) echo "tests/fuzz/seeds/safetensors_header tests/reference/fixtures/models/llama-gqa-bf16-sharded" ;;
    fuzz_safetensors_index) echo "tests/reference/fixtures/models/llama-gqa-bf16-sharded/model.safetensors.index.json tests/reference/fixtures/models/neox-tied-bf16-sharded/model.safetensors.index.json" ;;
    fuzz_tokenizer_json) echo "tests/fuzz/seeds/tokenizer_json tests/reference/fixtures/tokenizers/gpt2" ;;
    *) echo "tests/fuzz/seeds/${1#fuzz_}" ;;
  esac
}
status=0
for t in $targets; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$build/findings/$t.log"
  # config.json seeds are whole directories' config.json files only.
  seeds=()
  for s in $(seeds_of "$t"); do
    if [ "$t" = fuzz_hf_config ]; then cp "$s/config.json" "$corpus/$(echo "$s" | tr '/' '_').json"
    elif [ -f "$s" ]; then cp "$s" "$corpus/$(echo "$s" | tr '/' '_')"  # libFuzzer takes directories
    else seeds+=("$s"); fi
  done
  # -jobs makes libFuzzer write fuzz-N.log into the current directory: only when asked for, and
  # then into findings/.
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  set +e
  root=$(pwd)
  (cd "$build/findings" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$root/$build/tests/fuzz/$t" -runs="$runs" "${parallel[@]}" -artifact_prefix="$root/$findings/" \
    -print_final_stats=1 "$root/$corpus" "${seeds[@]/#/$root/}") >"$log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
  if [ $rc -ne 0 ]; then
    status=1
    echo "$t: FAILED (exit $rc) — $(grep -m1 -E 'ERROR|runtime error|abort|escape' "$log" || true); log $log"
  else
    echo "$t: ${done_line:-no Done line}; corpus $(ls "$corpus" | wc -l) inputs"
  fi
done
exit $status
