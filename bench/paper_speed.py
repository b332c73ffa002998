#!/usr/bin/env python3
"""crammer against the paper's procedure, side by side in one run, on this machine:

  (a) the paper's code path: a transformers model with a [mem] wrapper, batch 1, full logits,
      the model loaded from disk twice per task (baseline, then training) as train.py does;
  (b) the same loop with the model loaded once (--loaded-once);
  (c) `crammer run` (batched, chunked LM head), once per --batch.

Two sweeps (--model):
  demo          the demo model (models/demo, 13.7M parameters, GPT-2 vocabulary): 16 natural
                texts of Persuasion, lengths 8/16/32, up to 300 steps;
  smollm2-135m  a real model's shape (SmolLM2-135M: 30 layers, d 576, 9/3 heads, vocab 49152,
                tied; random weights saved by transformers, which do not change the speed): 32
                texts of 32 token ids, 20 steps, so that no text stops early.
k 1, lr 0.01, f32; every task starts from the same mem (cram.init_mem) in all runs. Prints
whole-sweep wall time, sample-steps/s, the FLOP rate of each run (docs/bench/cram.md's count of
a step's useful FLOPs over the whole wall time, model loads included) next to the dense f32
GEMM rate measured in the same process, the ratios, and how far the per-task results agree.

  .venv/bin/python bench/paper_speed.py --crammer build/release/src/app/crammer [--model demo]
  .venv/bin/python bench/paper_speed.py --crammer build/release/src/app/crammer --model smollm2-135m --batch 8 32
"""
import argparse
import csv
import io
import json
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
sys.path.insert(0, str(ROOT / "bench/gpu"))
import paper_loop  # noqa: E402
import shapes  # noqa: E402

SWEEPS = {  # lengths, texts, steps, crammer batch sizes
    "demo": dict(lengths=[8, 16, 32], samples=16, steps=300, batch=[16]),
    "smollm2-135m": dict(lengths=[32], samples=32, steps=20, batch=[8, 32]),
}
LR = 0.01


def export(crammer, results, table):
    out = subprocess.run([crammer, "export", str(results), "--table", table], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def gemm_gflops(n=2048, reps=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def step_flops(cfg, T, rows):
    """One sample's cramming step (forward + input-gradient backward, frozen weights), as
    bench/cram_measure.hpp's step_flops: linear maps 2 x 2 x lin per token, attention 2 x 6 T^2
    d_attn per layer, the head 2 x 2 V d per scored row."""
    d, L = cfg.hidden_size, cfg.num_hidden_layers
    hd = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
    attn = cfg.num_attention_heads * hd
    kv = (getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads) * hd
    mlp = 2 if cfg.model_type in ("gpt2", "gpt_neox", "opt") else 3
    lin = d * attn + 2 * d * kv + attn * d + mlp * d * cfg.intermediate_size
    return 2 * (2 * T * L * lin + 6 * L * T * T * attn + 2 * rows * cfg.vocab_size * d)


def write_sweep(work, name, model_dir, corpus, sweep, batch, threads):
    results = work / f"crammer-b{batch}.h5"
    path = work / f"sweep-b{batch}.yaml"
    path.write_text(f"""
models: [{{name: {name}, path: {model_dir}, dtype: f32}}]
corpus: {corpus}
cram:
  n_mem: [1]
  lengths: {sweep['lengths']}
  init_mem: {work / 'init.safetensors'}
  decode_check: false
  optimizer: {{lr: {LR}, max_steps: {sweep['steps']}, patience: 2000}}
batching: {{batch_size: {batch}}}
runtime: {{device: cpu, threads: {threads}, seed: 0}}
output: {{path: {results}}}
""")
    return path, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--model", choices=sorted(SWEEPS), default="demo")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", help="crammer's batching.batch_size (one run each)")
    ap.add_argument("--loaded-once", action="store_true", help="also run (b)")
    args = ap.parse_args()
    sweep = dict(SWEEPS[args.model])
    if args.batch:
        sweep["batch"] = args.batch
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # 2 loads per task would fill the output
    work = pathlib.Path(tempfile.mkdtemp(prefix="paper_speed_"))

    if args.model == "demo":
        model_dir = ROOT / "models/demo"
        corpus = (f"{{format: text, paths: [{ROOT / 'data/corpora/austen/persuasion.txt'}], "
                  f"samples: {sweep['samples']}}}")
    else:  # random weights of the real shape, token ids from a seeded generator
        model_dir = work / args.model
        model_type, fields = shapes.SHAPES[args.model]
        shapes.save_random(shapes.config(model_type, **fields), model_dir, dtype=torch.float32)
        gen = torch.Generator().manual_seed(1)
        with open(work / "ids.jsonl", "w") as f:
            for _ in range(sweep["samples"]):
                f.write(json.dumps(torch.randint(0, fields["vocab_size"], (max(sweep["lengths"]),),
                                                 generator=gen).tolist()) + "\n")
        corpus = f"{{format: token-ids, paths: [{work / 'ids.jsonl'}], samples: {sweep['samples']}}}"

    def load():
        return transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    model = load()
    cfg = model.config
    std = model.get_input_embeddings().weight.float().std().item()
    gen = torch.Generator().manual_seed(0)
    keys = [f"{args.model}/k1/L{L}/s{s}" for L in sweep["lengths"] for s in range(sweep["samples"])]
    init = {k: (torch.randn(1, cfg.hidden_size, generator=gen) * std).contiguous() for k in keys}
    save_file(init, str(work / "init.safetensors"))

    gemm = gemm_gflops()
    runs, rows, samples = [], None, None
    for batch in sweep["batch"]:
        path, results = write_sweep(work, args.model, model_dir, corpus, sweep, batch, args.threads)
        wall = timed(lambda: subprocess.run([args.crammer, "run", str(path), "--progress", "off"], check=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        rows = {r["task_key"]: r for r in export(args.crammer, results, "results")}
        samples = {int(s["sample_id"]): [int(x) for x in s["token_ids"].split()]
                   for s in export(args.crammer, results, "samples")}
        steps = {k: int(r["steps"]) + 1 for k, r in rows.items()}
        runs.append((f"(c) crammer run, batch {batch}", wall, steps))

    def sweep_paper(reload):
        out, t0 = {}, time.perf_counter()
        m = model
        for key in keys:
            L, s = (int(p[1:]) for p in key.split("/")[2:])
            ids = torch.tensor(samples[s][:L])
            if reload:
                m = load()  # the baseline model
            with torch.no_grad():  # train.py's baseline forward
                m(input_ids=ids[None], labels=ids[None])
            if reload:
                m = load()  # the training model, loaded again
            out[key] = paper_loop.cram(m, ids, init[key], LR, (0.9, 0.9), 0.01, 1e-8, sweep["steps"] + 1, 2000)
        return out, time.perf_counter() - t0

    if args.loaded_once:
        ref_b, wall_b = sweep_paper(reload=False)
        runs.insert(0, ("(b) paper loop, model loaded once", wall_b, {k: r["steps"] + 1 for k, r in ref_b.items()}))
    ref, wall_a = sweep_paper(reload=True)
    runs.insert(0, ("(a) paper: reload per task, batch 1", wall_a, {k: r["steps"] + 1 for k, r in ref.items()}))

    def flops(steps):  # positions k + L - 1 (the last token is only a target), L - 1 scored rows
        return sum(n * step_flops(cfg, int(k.split("/")[2][1:]), int(k.split("/")[2][1:]) - 1)
                   for k, n in steps.items())

    params = sum(p.numel() for p in model.parameters())
    print(f"sweep: {args.model} ({params / 1e6:.1f}M parameters, {cfg.num_hidden_layers} layers, d "
          f"{cfg.hidden_size}, vocab {cfg.vocab_size}), {len(keys)} tasks (k 1, lengths {sweep['lengths']}, "
          f"{sweep['samples']} texts), up to {sweep['steps']} steps, lr {LR}, f32, {args.threads} threads; "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"dense f32 GEMM (torch.mm 2048x2048, same process): {gemm:.1f} GFLOP/s")
    print(f"{'run':<40} {'wall s':>8} {'sample-steps':>13} {'sample-steps/s':>15} {'GFLOP/s':>8} "
          f"{'% GEMM':>7} {'vs (a)':>7}")
    for name, wall, steps in runs:
        n = sum(steps.values())
        rate = flops(steps) / wall / 1e9
        print(f"{name:<40} {wall:8.1f} {n:13d} {n / wall:15.1f} {rate:8.1f} {100 * rate / gemm:6.1f}% "
              f"{wall_a / wall:6.2f}x")
    same_acc = sum(abs(float(rows[k]["best_acc"]) - ref[k]["best_acc"]) < 1e-6 for k in keys)
    converged = sum(ref[k]["best_acc"] == 1.0 for k in keys)
    print(f"agreement (last crammer run vs (a)): best_acc equal in {same_acc} of {len(keys)} tasks "
          f"({converged} reached 1.0 in the paper loop)")


if __name__ == "__main__":
    main()
