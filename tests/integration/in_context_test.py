#!/usr/bin/env python3
"""cram.in_context_control end to end: the committed demo model, under mpirun (1 coordinator +
2 workers) and in one process, stores copy_loss and copy_acc on every row; the two runs agree
to the bit (the prompt is built once, in the plan); report.py writes in_context.csv whose means
equal the rows' own. transformers' agreement with the numbers: tests/reference/check_bos.py.

usage: in_context_test.py --crammer BIN --workdir DIR
"""
import argparse
import csv
import os
import subprocess
import sys

import h5py

from sweep_test import check, mpirun, remove_outputs, run

CONFIG = """models:
  - name: demo
    path: models/demo
    dtype: f32
corpus:
  format: text
  paths: [data/corpora/austen/persuasion.txt]
  text_kind: [natural, random-words]
  word_list: data/wordlists/austen-top5000.txt
  samples: 2
  seed: 0
cram:
  n_mem: [1]
  lengths: [4, 12]
  in_context_control: true
  optimizer: {{lr: 0.05, max_steps: 20, patience: 20}}
batching: {{batch_size: 4}}
runtime: {{threads: 1, seed: 0}}
output: {{path: {out}}}
"""


def rows_of(path):
    with h5py.File(path, "r") as f:
        data = f["results"][()]
    return {r["task_key"].decode().rstrip("\0"): r for r in data}


def sweep(a, name, ranks):
    cfg, out = os.path.join(a.workdir, name + ".yaml"), os.path.join(a.workdir, name + ".h5")
    remove_outputs(out)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(out=out))
    cmd = mpirun(ranks, a.crammer, ["run", cfg]) if ranks > 1 else [a.crammer, "run", cfg]
    r = run(cmd, timeout=600)
    check(r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr[-2000:]}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    multi, single = rows_of(sweep(a, "copy-mpi", 3)), rows_of(sweep(a, "copy-one", 1))
    check(len(multi) == 8 and multi.keys() == single.keys(), f"rows {sorted(multi)} vs {sorted(single)}")
    for key, r in multi.items():
        check(r["status"] == 0, f"{key}: status {r['status']}")
        check(r["copy_loss"] > 0 and 0 <= r["copy_acc"] <= 1, f"{key}: copy {r['copy_loss']} {r['copy_acc']}")
        check(r["copy_loss"] == single[key]["copy_loss"] and r["copy_acc"] == single[key]["copy_acc"],
              f"{key}: 3 ranks {r['copy_loss']}/{r['copy_acc']}, 1 rank {single[key]['copy_loss']}/"
              f"{single[key]['copy_acc']}")
        check(abs(r["copy_loss"] - r["baseline_loss"]) > 1e-6, f"{key}: the copy equals the baseline")
    out = os.path.join(a.workdir, "copy-report")
    r = subprocess.run(["/usr/bin/python3", "analysis/report.py", os.path.join(a.workdir, "copy-mpi.h5"),
                        "--out", out], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"report.py: {r.stderr[-2000:]}")
    with open(os.path.join(out, "in_context.csv")) as f:
        table = list(csv.DictReader(f))
    check(len(table) == 4, f"in_context.csv has {len(table)} rows, expected 4 (2 kinds x 2 lengths)")
    check(all(int(t["rows"]) == 2 for t in table), f"in_context.csv groups: {table}")
    means = {}  # each (kind, length) group holds 2 rows: the mean of a length's groups is its rows' mean
    for t in table:
        means.setdefault(int(t["length"]), []).append(float(t["copy_acc"]))
    for length, accs in means.items():
        rows = [r for r in multi.values() if int(r["length"]) == length]
        want = sum(float(r["copy_acc"]) for r in rows) / len(rows)
        check(abs(sum(accs) / len(accs) - want) < 1e-12, f"L{length}: table {accs} vs rows {want}")
    print(f"in-context control: {len(multi)} rows, 3 ranks == 1 rank, in_context.csv {len(table)} groups")


if __name__ == "__main__":
    sys.exit(main())
