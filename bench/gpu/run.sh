#!/usr/bin/env bash
# crammer on one GPU in one call (docs/GPU.md): builds what it needs against the machine's
# PyTorch, then (a) parity with transformers on the GPU, every family, f32 and bf16
# (parity.py), and (b) the side by side, bf16, k 1, texts that never stop early: the paper's
# procedure at batch 1 (paper_bench.py) against crammer at batch 1, 8, 32, 128 (gpu_cram_bench)
# on random-weight checkpoints of Pythia-160M (length 80) and Llama-3.2-1B (length 512).
# Figures land in OUT: summary.md, figures.json, run.log, build.log.
#   bash bench/gpu/run.sh                      # on the GPU machine (device tool: carry bench/gpu/carry)
#   bash bench/gpu/run.sh --rehearse           # here: the same steps on the CPU at toy sizes
# Options: --out DIR (default $OUT, else build/gpu-out), --build-dir DIR (default build/gpu),
# --programs GPU_CRAM_BENCH REFERENCE_FORWARD_TOOL (already built: no build), --python PY
# (default python3).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rehearse=0 out=${OUT:-$here/build/gpu-out} build=$here/build/gpu bench="" forward="" python=python3
while [ $# -gt 0 ]; do
  case "$1" in
    --rehearse) rehearse=1 ;;
    --out) out=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --programs) bench=$2 forward=$3; shift 2 ;;
    --python) python=$2; shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$rehearse" = 1 ]; then
  device=cpu batches=1,4,16 seconds=1 head_chunk=256 shapes=("tiny-neox 64" "tiny-llama 128") threads=2
else
  device=cuda batches=1,8,32,128 seconds=3 head_chunk=4096 shapes=("pythia-160m 80" "llama-3.2-1b 512") threads=0
fi
mkdir -p "$out"
work=$(mktemp -d /tmp/crammer-gpu.XXXXXX)
trap 'rm -rf "$work"' EXIT
exec > >(tee -a "$out/run.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
failed=()
step() {  # step NAME SECONDS COMMAND...: runs COMMAND under a time limit, notes a failure
  local name=$1 limit=$2 t0=$SECONDS rc
  shift 2
  echo "== $name ($(date -u +%T))"
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "== $name: done in $((SECONDS - t0)) s"
  else
    echo "== $name: FAILED (exit $rc$([ $rc -eq 124 ] && echo ", over its $limit s")) after $((SECONDS - t0)) s"
    failed+=("$name")
  fi
  return $rc
}

{
  echo "date: $(date -u '+%F %T UTC')  mode: $([ $rehearse = 1 ] && echo "rehearsal (cpu, toy sizes)" || echo gpu)"
  echo "host: $(uname -srm), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(ldd --version 2>&1 | head -1)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
  "$python" -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__); print("device:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU visible")'
  for t in c++ cmake ninja nvcc; do echo "$t: $({ command -v $t && $t --version 2>&1 | grep -m1 -iE 'version|release|^[0-9]'; } | tr '\n' ' ')"; done
  if git -C "$here" rev-parse --short HEAD >/dev/null 2>&1; then
    echo "commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD || echo ' (with local changes)')"
  else
    echo "commit: $(cat "$here/bench/gpu/carry/commit.txt" 2>/dev/null || echo unknown) (bench/gpu/carry/commit.txt)"
  fi
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
deps_lib="$here/bench/gpu/carry/deps/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$torch_lib:$deps_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The programs: --programs, else carry/bin when they load here, else built here against this
# PyTorch.
usable() {  # usable BENCH FORWARD: both there, every library found, each prints its usage
  [ -x "$1" ] && [ -x "$2" ] || return 1
  ! ldd "$1" "$2" | grep -q "not found" || return 1
  local rc
  for program in "$1" "$2"; do
    "$program" >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || { echo "== $program does not run here (exit $rc)"; return 1; }
  done
}
carried="$here/bench/gpu/carry/bin"
if [ -z "$bench" ] && usable "$carried/gpu_cram_bench" "$carried/reference_forward_tool"; then
  bench="$carried/gpu_cram_bench" forward="$carried/reference_forward_tool"
  echo "== programs: the carried ones (bench/gpu/carry/bin) load here"
fi
if [ -z "$bench" ]; then
  echo "== building the programs against this PyTorch (log: build.log)"
  step build 480 bash "$here/bench/gpu/build.sh" "$build" "$python" > "$out/build.log" 2>&1 ||
    { echo "== build: FAILED"; tail -40 "$out/build.log"; }
  bench="$build/bench/gpu_cram_bench" forward="$build/bench/reference_forward_tool"
fi
if usable "$bench" "$forward"; then
  # (a) parity on the device, every family, f32 and bf16.
  step parity 300 "$python" "$here/bench/gpu/parity.py" --tool "$forward" \
    --device "$device" --workdir "$work/parity" --json "$work/parity.json"
  # (b) the side by side, one shape after the other.
  for entry in "${shapes[@]}"; do
    read -r shape length <<< "$entry"
    ckpt="$work/$shape"
    step "checkpoint $shape" 300 "$python" "$here/bench/gpu/shapes.py" "$shape" "$ckpt" --device "$device" --dtype bf16 || continue
    step "paper $shape" 300 "$python" "$here/bench/gpu/paper_bench.py" --ckpt "$ckpt" --length "$length" \
      --device "$device" --seconds "$seconds" --threads "$threads" --json "$work/$shape.paper.json"
    step "crammer $shape" 400 "$bench" --model "$ckpt" --length "$length" --batches "$batches" \
      --device "$device" --dtype bf16 --head-chunk "$head_chunk" --seconds "$seconds" --threads "$threads" \
      --json "$work/$shape.crammer.json"
    rm -rf "$ckpt"
  done
else
  echo "== no usable programs: parity and the side by side did not run"
  failed+=("programs")
fi
cp "$out/machine.txt" "$work/machine.txt"
names=()
for entry in "${shapes[@]}"; do names+=("${entry%% *}"); done
"$python" "$here/bench/gpu/summarise.py" "$work" --markdown "$out/summary.md" --json "$out/figures.json" \
  --expect "${names[@]}" || failed+=("summary")
cat "$out/summary.md"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failed: ${failed[*]}"
  exit 1
fi
echo "run.sh: every step passed; figures in $out"
