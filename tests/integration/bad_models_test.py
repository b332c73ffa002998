#!/usr/bin/env python3
"""Models no task can use, and tasks whose numbers are not finite, met through the crammer
command as a user meets them (issue: fail fast, failed rows are not final). Shares the helpers of
sweep_test.py (the tiny model, the config, mpirun).

usage: bad_models_test.py --crammer BIN --workdir DIR
"""
import argparse
import json
import os
import shutil
import struct

import h5py

from sweep_test import check, make_model, mpirun, remove_outputs, run, write_config


def set_tensor_values(model_dir, name, value):
    """Overwrites every element of F32 tensor `name` in model_dir/model.safetensors with `value`."""
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        info = json.loads(f.read(n))[name]
        check(info["dtype"] == "F32", f"{name} is {info['dtype']}")
        begin, end = info["data_offsets"]
        f.seek(8 + n + begin)
        f.write(struct.pack("<f", value) * ((end - begin) // 4))


def statuses(path):
    with h5py.File(path, "r") as f:
        return [int(s) for s in f["results"]["status"]]


def case_bad_models(a):
    """Models no task can use, and tasks whose numbers are not finite, as a user meets them:
    a checkpoint with NaN weights stops `crammer run` with exit 2 before any row (alone and under
    mpirun), and runs once fixed; a model that overflows gives failed rows (never done rows of
    NaN), a rerun runs those tasks again, and once the model is fixed their old rows are
    superseded and `crammer status` says so."""
    good = os.path.join(a.workdir, "model")
    make_model(a.crammer, good)
    bad = os.path.join(a.workdir, "nan-model")
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(good, bad)
    set_tensor_values(bad, "model.norm.weight", float("nan"))
    cfg, out = os.path.join(a.workdir, "nan.yaml"), os.path.join(a.workdir, "nan.h5")
    remove_outputs(out)
    write_config(cfg, bad, out, samples=2, max_steps=5, lengths=(8,), n_mem=(1,))
    r = run([a.crammer, "plan", cfg])  # headers and shapes are fine: plan cannot see NaN values
    check(r.returncode == 0, "plan: " + r.stderr)
    for cmd in ([a.crammer, "run", cfg], mpirun(3, a.crammer, ["run", cfg])):
        r = run(cmd, timeout=300)
        check(r.returncode == 2 and "model.norm.weight' holds non-finite values" in r.stderr and
              "model 'tiny'" in r.stderr and "rerun the same command" in r.stderr,
              f"{cmd[0]}: NaN weights: exit {r.returncode}: {r.stderr[-3000:]}")
        check(statuses(out) == [], f"rows stored for an unusable model: {statuses(out)}")
    shutil.copy(os.path.join(good, "model.safetensors"), os.path.join(bad, "model.safetensors"))
    r = run([a.crammer, "run", cfg], timeout=300)
    check(r.returncode == 0 and statuses(out) == [0, 0], f"fixed model: {r.returncode} {statuses(out)} {r.stderr[-2000:]}")

    # Finite weights whose activations overflow f32: every metric NaN or inf.
    huge = os.path.join(a.workdir, "huge-model")
    r = run([a.crammer, "make-model", "--arch", "llama", "--layers", "2", "--d-model", "64", "--heads", "4",
             "--kv-heads", "2", "--tokenizer", "data/tokenizers/gpt2", "--seed", "1", "--init-std", "1e18",
             "--force", "--out", huge])
    check(r.returncode == 0, "make-model: " + r.stderr)
    cfg, out = os.path.join(a.workdir, "huge.yaml"), os.path.join(a.workdir, "huge.h5")
    remove_outputs(out)
    write_config(cfg, huge, out, samples=2, max_steps=5, lengths=(8,), n_mem=(1,))
    r = run([a.crammer, "run", cfg], timeout=300)
    check(r.returncode == 0 and statuses(out) == [1, 1], f"overflow: {r.returncode} {statuses(out)} {r.stderr[-2000:]}")
    with h5py.File(out, "r") as f:
        errors = [e.decode() for e in f["results"]["error"]]
    check(all("non-finite" in e for e in errors), f"errors: {errors}")
    r = run([a.crammer, "status", out])
    check("2 failed row(s)" in r.stdout and "runs their tasks again" in r.stdout, r.stdout)
    r = run([a.crammer, "plan", cfg])  # plan says what run will do with the file
    check("holds 2 rows (0 done, 2 failed, 0 skipped, 0 superseded): crammer run resumes it, 2 of 2 tasks left "
          "to run (2 stored as failed run again unless --keep-failed)" in r.stdout, r.stdout)
    r = run([a.crammer, "run", cfg], timeout=300)  # still broken: run again, failed again
    check(r.returncode == 0 and statuses(out) == [3, 3, 1, 1], f"rerun: {statuses(out)} {r.stderr[-2000:]}")
    r = run([a.crammer, "run", cfg, "--keep-failed"], timeout=300)
    check(r.returncode == 0 and statuses(out) == [3, 3, 1, 1], f"--keep-failed: {statuses(out)}")
    for f in ("model.safetensors", "config.json"):  # fixed: the same model with sane weights
        shutil.copy(os.path.join(good, f), os.path.join(huge, f))
    r = run([a.crammer, "run", cfg], timeout=300)
    check(r.returncode == 0 and statuses(out) == [3, 3, 3, 3, 0, 0], f"fixed: {statuses(out)} {r.stderr[-2000:]}")
    r = run([a.crammer, "status", out])
    check("4 superseded row(s)" in r.stdout and "failed row(s)" not in r.stdout, r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    a.crammer = os.path.abspath(a.crammer)
    os.makedirs(a.workdir, exist_ok=True)
    case_bad_models(a)
    print("PASS bad_models")


if __name__ == "__main__":
    main()
