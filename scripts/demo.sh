#!/usr/bin/env bash
# Sets up (packages + build) and runs the embedded demo sweep under mpirun (1 coordinator +
# 2 workers), prints its status and writes the report. Results: results/tiny.h5, report/tiny/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
crammer="$BUILD_DIR/src/app/crammer"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ ! -f build/models/tiny-llama/config.json ]; then
  "$crammer" make-model --arch llama --layers 2 --d-model 64 --heads 4 --kv-heads 2 \
    --tokenizer data/tokenizers/gpt2 --seed 0 --out build/models/tiny-llama
fi
mpirun --oversubscribe -np 3 "$crammer" run experiments/tiny.yaml --progress log --progress-seconds 5
"$crammer" status results/tiny.h5
/usr/bin/python3 analysis/report.py results/tiny.h5 --out report/tiny
echo "demo: results in results/tiny.h5 (crammer export results/tiny.h5 prints them as CSV);"
echo "      figures and table in report/tiny/ (table.md, accuracy_vs_length.png, ...)"
