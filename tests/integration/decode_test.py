#!/usr/bin/env python3
"""`crammer decode`: a sweep of the committed demo model under mpirun (1 coordinator + 2
workers) stores its [mem] vectors; decode loads model, tokenizer and vectors from the files
alone and generates each text back. For every row, what decode reports (tokens right, first
mistake, exact) must equal what the run's own decode check stored (decode_acc, decode_prefix,
decode_exact): two paths, one in the training process with its in-memory vectors, one from
the f32 vectors in the file through a fresh model. An exact row's decoded text is the crammed
text itself, which must be the sample's tokens decoded. Errors: a file without vectors, a row
out of range: exit 2 naming the file and what to do.

usage: decode_test.py --crammer BIN --workdir DIR
"""
import argparse
import os
import re

import h5py

from sweep_test import check, mpirun, remove_outputs, run

CONFIG = """models:
  - name: demo
    path: models/demo
    dtype: f32
corpus:
  format: text
  paths: [data/corpora/austen/persuasion.txt]
  samples: 3
  seed: 0
cram:
  n_mem: [4]
  lengths: [2, 3, 6]
  optimizer: {{lr: 0.05, max_steps: 300, patience: 300}}
batching: {{batch_size: 4}}
runtime: {{threads: 1, seed: 0}}
output: {{path: {out}, save_memory: {save}}}
"""

ROW = re.compile(r"^row (\d+) \((.*)\): demo, k (\d+), (\d+) tokens, best accuracy ([0-9.]+), (\d+) steps$")


def parse(stdout):
    """decode's blocks: row index -> {key, crammed, decoded, right, targets, exact, first_mistake}."""
    rows, lines = {}, stdout.splitlines()
    for i, line in enumerate(lines):
        m = ROW.match(line)
        if not m:
            continue
        crammed = lines[i + 1].split("crammed: ", 1)[1]
        decoded = lines[i + 2].split("decoded: ", 1)[1]
        tail = lines[i + 3].strip()
        counts = re.match(r"(\d+) of (\d+) generated tokens right(: decoded exactly|, first mistake at target (\d+))",
                          tail)
        check(counts is not None, f"unexpected decode line: {tail!r}")
        rows[int(m.group(1))] = {"key": m.group(2), "crammed": crammed, "decoded": decoded,
                                 "right": int(counts.group(1)), "targets": int(counts.group(2)),
                                 "exact": counts.group(4) is None,
                                 "first_mistake": int(counts.group(4)) if counts.group(4) else None}
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    cfg, out = os.path.join(a.workdir, "decode.yaml"), os.path.join(a.workdir, "decode.h5")
    remove_outputs(out)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(out=out, save="true"))
    r = run(mpirun(3, a.crammer, ["run", cfg]), timeout=600)
    check(r.returncode == 0, f"sweep failed: {r.stderr[-2000:]}")

    r = run([a.crammer, "decode", out, "--limit", "0", "--threads", "1"], timeout=300)
    check(r.returncode == 0, f"decode failed: {r.stderr[-2000:]}")
    shown = parse(r.stdout)
    with h5py.File(out, "r") as f:
        stored = f["results"][()]
    check(len(shown) == len(stored) == 9, f"decode showed {len(shown)} of {len(stored)} rows")
    exact_rows = 0
    for i, row in enumerate(stored):
        s = shown[i]
        key = row["task_key"].decode().rstrip("\0")
        check(s["key"] == key, f"row {i}: key {s['key']} != {key}")
        check(s["targets"] == int(row["n_targets"]), f"{key}: {s['targets']} targets, stored {row['n_targets']}")
        check(s["exact"] == bool(row["decode_exact"]),
              f"{key}: decode says exact={s['exact']}, the run stored decode_exact={row['decode_exact']}")
        check(abs(s["right"] - row["decode_acc"] * s["targets"]) < 1e-6,
              f"{key}: {s['right']} right, the run stored decode_acc {row['decode_acc']}")
        if not s["exact"]:
            check(s["first_mistake"] == int(row["decode_prefix"]) + 1,
                  f"{key}: first mistake {s['first_mistake']}, stored decode_prefix {row['decode_prefix']}")
        else:
            exact_rows += 1
            check(s["decoded"] == s["crammed"], f"{key}: exact, yet {s['decoded']} != {s['crammed']}")
    check(exact_rows >= 2, f"only {exact_rows} rows decoded exactly (the demo model crams 2-3 tokens)")

    # One row by index; the crammed text is the sample's tokens decoded by the tokenizer.
    r = run([a.crammer, "decode", out, "--row", "0", "--threads", "1"], timeout=300)
    check(r.returncode == 0 and list(parse(r.stdout)) == [0], f"--row 0: {r.stdout} {r.stderr}")
    r = run([a.crammer, "decode", out, "--row", "9"], timeout=120)
    check(r.returncode == 2 and "--row 9" in r.stderr and "rows 0..8" in r.stderr, f"--row 9: {r.stderr}")

    # Without stored vectors: exit 2, saying how to get them.
    out2 = os.path.join(a.workdir, "decode-nomem.h5")
    remove_outputs(out2)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(out=out2, save="false").replace("max_steps: 300, patience: 300",
                                                               "max_steps: 5, patience: 5"))
    r = run([a.crammer, "run", cfg], timeout=300)
    check(r.returncode == 0, f"sweep without vectors failed: {r.stderr[-2000:]}")
    r = run([a.crammer, "decode", out2], timeout=120)
    check(r.returncode == 2 and out2 in r.stderr and "output.save_memory: true" in r.stderr,
          f"no vectors: exit {r.returncode}: {r.stderr}")
    print(f"decode: {len(stored)} rows agree with the run's own decode check ({exact_rows} exact, "
          f"decoded text == crammed text)")


if __name__ == "__main__":
    main()
