#!/usr/bin/env bash
# The embedded demo: sets up (packages + the crammer program), crams texts with the committed
# demo model (models/demo, trained here: docs/pretrain.md) under mpirun (1 coordinator +
# 2 workers) per experiments/quickstart.yaml, prints the sweep's status and writes the report.
# Results: results/quickstart.h5; figures and table: report/quickstart/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh crammer
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
crammer="$BUILD_DIR/src/app/crammer"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
mpirun --oversubscribe -np 3 "$crammer" run experiments/quickstart.yaml --progress log --progress-seconds 30
"$crammer" status results/quickstart.h5
/usr/bin/python3 analysis/report.py results/quickstart.h5 --out report/quickstart
echo "demo: sweep and report took $(( $(date +%s) - start )) s"
echo "demo: results in results/quickstart.h5 (crammer export results/quickstart.h5 prints them as CSV);"
echo "      figures and table in report/quickstart/ (table.md, accuracy_vs_length.png,"
echo "      info_gain_vs_baseline.png, capacity_vs_k.png, capacity_vs_model_size.png)"
