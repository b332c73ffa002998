#!/usr/bin/env python3
"""crammer against the paper's procedure, side by side in one run, on this machine:

  (a) the paper's code path: a transformers model with a [mem] wrapper, batch 1, full logits,
      the model loaded from disk twice per task (baseline, then training) as train.py does;
  (b) the same loop with the model loaded once;
  (c) `crammer run` (batched, chunked LM head).

The sweep: the demo model (models/demo), 16 natural texts of Persuasion, lengths 8/16/32, k 1,
lr 0.01, up to 300 steps, f32; every task starts from the same mem (cram.init_mem) in all three.
Prints whole-sweep wall time, sample-steps/s, the ratios, and how far the per-task results
agree (best_acc equal; best_loss difference).

  .venv/bin/python bench/paper_speed.py --crammer build/torch2/src/app/crammer [--threads 2]
"""
import argparse
import csv
import io
import pathlib
import subprocess
import sys
import tempfile
import time

import torch
import transformers
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/reference"))
import paper_loop  # noqa: E402

MODEL = ROOT / "models/demo"
LENGTHS, SAMPLES, STEPS, LR = [8, 16, 32], 16, 300, 0.01


def export(crammer, results, table):
    out = subprocess.run([crammer, "export", str(results), "--table", table], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def paper_task(model, ids, mem0):
    with torch.no_grad():  # train.py's baseline forward
        model(input_ids=ids[None], labels=ids[None])
    return paper_loop.cram(model, ids, mem0, LR, (0.9, 0.9), 0.01, 1e-8, STEPS + 1, 2000)


def load():
    return transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16, help="crammer's batching.batch_size")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = pathlib.Path(tempfile.mkdtemp(prefix="paper_speed_"))

    model = load()
    std = model.get_input_embeddings().weight.float().std().item()
    d = model.config.hidden_size
    gen = torch.Generator().manual_seed(0)
    keys = [f"demo/k1/L{L}/s{s}" for L in LENGTHS for s in range(SAMPLES)]
    init = {k: (torch.randn(1, d, generator=gen) * std).contiguous() for k in keys}
    save_file(init, str(work / "init.safetensors"))
    results = work / "crammer.h5"
    (work / "sweep.yaml").write_text(f"""
models: [{{name: demo, path: {MODEL}, dtype: f32}}]
corpus: {{format: text, paths: [{ROOT / 'data/corpora/austen/persuasion.txt'}], samples: {SAMPLES}}}
cram:
  n_mem: [1]
  lengths: {LENGTHS}
  init_mem: {work / 'init.safetensors'}
  decode_check: false
  optimizer: {{lr: {LR}, max_steps: {STEPS}, patience: 2000}}
batching: {{batch_size: {args.batch}}}
runtime: {{device: cpu, threads: {args.threads}, seed: 0}}
output: {{path: {results}}}
""")
    t0 = time.perf_counter()
    subprocess.run([args.crammer, "run", str(work / "sweep.yaml"), "--progress", "off"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall_c = time.perf_counter() - t0
    rows = {r["task_key"]: r for r in export(args.crammer, results, "results")}
    samples = {int(s["sample_id"]): [int(x) for x in s["token_ids"].split()]
               for s in export(args.crammer, results, "samples")}
    steps_c = sum(int(r["steps"]) + 1 for r in rows.values())

    def sweep(reload):
        out, t0 = {}, time.perf_counter()
        m = model
        for key in keys:
            L, s = (int(p[1:]) for p in key.split("/")[2:])
            if reload:
                m = load()  # baseline model
            ids = torch.tensor(samples[s][:L])
            if reload:
                with torch.no_grad():
                    m(input_ids=ids[None], labels=ids[None])
                m = load()  # the training model, loaded again
                out[key] = paper_loop.cram(m, ids, init[key], LR, (0.9, 0.9), 0.01, 1e-8,
                                           STEPS + 1, 2000)
            else:
                out[key] = paper_task(m, ids, init[key])
        return out, time.perf_counter() - t0

    ref_b, wall_b = sweep(reload=False)
    ref_a, wall_a = sweep(reload=True)
    steps_p = sum(r["steps"] + 1 for r in ref_b.values())

    same_acc = sum(abs(float(rows[k]["best_acc"]) - ref_b[k]["best_acc"]) < 1e-6 for k in keys)
    converged = sum(ref_b[k]["best_acc"] == 1.0 for k in keys)
    loss_diff = max(abs(float(rows[k]["best_loss"]) - ref_b[k]["best_loss"]) /
                    max(abs(ref_b[k]["best_loss"]), 1e-12) for k in keys
                    if abs(float(rows[k]["best_acc"]) - ref_b[k]["best_acc"]) < 1e-6)
    print(f"sweep: demo model, {len(keys)} tasks (k 1, lengths {LENGTHS}, {SAMPLES} texts), "
          f"up to {STEPS} steps, lr {LR}, f32, {args.threads} threads; "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"{'run':<44} {'wall s':>8} {'sample-steps':>13} {'sample-steps/s':>15} {'vs (a)':>7}")
    for name, wall, steps in (("(a) paper: reload per task, batch 1", wall_a, steps_p),
                              ("(b) paper loop, model loaded once", wall_b, steps_p),
                              (f"(c) crammer run, batch {args.batch}", wall_c, steps_c)):
        print(f"{name:<44} {wall:8.1f} {steps:13d} {steps / wall:15.1f} {wall_a / wall:7.2f}x")
    print(f"agreement: best_acc equal in {same_acc} of {len(keys)} tasks ({converged} reached "
          f"1.0 in the paper loop); best_loss max relative difference where best_acc is equal "
          f"{loss_diff:.2e} (crammer breaks accuracy ties by lower loss, the paper keeps the "
          f"first step)")


if __name__ == "__main__":
    main()
