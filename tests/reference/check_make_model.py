#!/usr/bin/env python3
"""`crammer make-model` checkpoints in transformers (the venv's): every architecture and the
options that change the weights or config load with from_pretrained with no missing,
unexpected or mismatched keys, and transformers' logits, baseline CE/accuracy and [mem]-prefix
logits equal crammer's (reference_forward_tool) to 1e-5 relative (f32)."""
import subprocess

import torch
import transformers

from hf_outputs import compare_outputs, transformers_outputs
from live_check import run_cases
from safetensors.torch import load_file, save_file

TOL = 1e-5

# name -> make-model arguments (besides --out); init-std 0.3 makes the logits far from zero.
CASES = {
    "gpt2": ["--arch", "gpt2", "--layers", "2", "--d-model", "32", "--heads", "4"],
    "gpt2-untied": ["--arch", "gpt2", "--layers", "2", "--d-model", "32", "--heads", "4",
                    "--tie-embeddings", "false"],
    "gpt_neox": ["--arch", "gpt_neox", "--layers", "2", "--d-model", "32", "--heads", "4",
                 "--rotary-pct", "0.5", "--rope-theta", "500"],
    "gpt_neox-tied-bf16-sharded": ["--arch", "gpt_neox", "--layers", "2", "--d-model", "32",
                                   "--heads", "4", "--tie-embeddings", "true", "--dtype", "bf16",
                                   "--shards", "3"],
    "llama": ["--arch", "llama", "--layers", "2", "--d-model", "32", "--heads", "4"],
    "llama-gqa-tied": ["--arch", "llama", "--layers", "2", "--d-model", "32", "--heads", "4",
                       "--kv-heads", "2", "--tie-embeddings", "true"],
    "llama-rope-llama3": ["--arch", "llama", "--layers", "2", "--d-model", "32", "--heads", "4",
                          "--kv-heads", "1", "--llama3-rope-scaling", "--max-positions", "64"],
    "llama-bf16-sharded": ["--arch", "llama", "--layers", "3", "--d-model", "32", "--heads", "4",
                           "--dtype", "bf16", "--shards", "4"],
    "mistral-window": ["--arch", "mistral", "--layers", "2", "--d-model", "32", "--heads", "4",
                       "--kv-heads", "2", "--sliding-window", "5"],
    "mistral-full-tied": ["--arch", "mistral", "--layers", "2", "--d-model", "32", "--heads", "4",
                          "--tie-embeddings", "true"],
    "qwen2-window": ["--arch", "qwen2", "--layers", "2", "--d-model", "32", "--heads", "4",
                     "--kv-heads", "2", "--sliding-window", "4"],
    "qwen2-bf16-sharded": ["--arch", "qwen2", "--layers", "2", "--d-model", "32", "--heads", "4",
                           "--dtype", "bf16", "--shards", "3", "--tie-embeddings", "true"],
    "qwen3": ["--arch", "qwen3", "--layers", "2", "--d-model", "32", "--heads", "4", "--kv-heads", "1"],
    "qwen3-window": ["--arch", "qwen3", "--layers", "2", "--d-model", "32", "--heads", "4",
                     "--sliding-window", "6"],
    "smollm3": ["--arch", "smollm3", "--layers", "4", "--d-model", "32", "--heads", "4",
                "--kv-heads", "2"],
    "olmo-clip": ["--arch", "olmo", "--layers", "2", "--d-model", "32", "--heads", "4",
                  "--clip-qkv", "0.5"],
    "olmo2": ["--arch", "olmo2", "--layers", "2", "--d-model", "32", "--heads", "4", "--kv-heads", "2"],
    "olmo2-bf16-sharded": ["--arch", "olmo2", "--layers", "2", "--d-model", "32", "--heads", "4",
                           "--dtype", "bf16", "--shards", "3", "--tie-embeddings", "true"],
    "phi3-window": ["--arch", "phi3", "--layers", "2", "--d-model", "32", "--heads", "4", "--kv-heads", "2",
                    "--sliding-window", "4"],
    "opt": ["--arch", "opt", "--layers", "2", "--d-model", "32", "--heads", "4"],
    "opt-project-untied": ["--arch", "opt", "--layers", "2", "--d-model", "32", "--heads", "4",
                           "--word-embed-proj-dim", "16", "--tie-embeddings", "false"],
    "gemma2": ["--arch", "gemma2", "--layers", "2", "--d-model", "32", "--heads", "4", "--kv-heads", "2",
               "--sliding-window", "4"],
    "gemma2-untied-bf16-sharded": ["--arch", "gemma2", "--layers", "2", "--d-model", "32", "--heads", "4",
                                   "--dtype", "bf16", "--shards", "3", "--tie-embeddings", "false"],
    "gemma3_text": ["--arch", "gemma3_text", "--layers", "7", "--d-model", "32", "--heads", "4",
                    "--kv-heads", "1", "--sliding-window", "3", "--rope-theta", "1000000"],
    "mamba": ["--arch", "mamba", "--layers", "3", "--d-model", "32"],
    "mamba-untied-bf16-sharded": ["--arch", "mamba", "--layers", "2", "--d-model", "32", "--dtype", "bf16",
                                  "--shards", "3", "--tie-embeddings", "false"],
}

# transformers' fused attention drops Gemma-2's score cap: its eager attention is the model.
EAGER = ("gemma2", "gemma3_text")


def check(name, argv, crammer, tool, work):
    out = work / name
    subprocess.run([crammer, "make-model", *argv, "--vocab-size", "96", "--init-std", "0.3",
                    "--seed", "7", "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    extra = {"attn_implementation": "eager"} if argv[argv.index("--arch") + 1] in EAGER else {}
    model, info = transformers.AutoModelForCausalLM.from_pretrained(
        out, dtype=torch.float32, output_loading_info=True, **extra)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        return [f"{name}: transformers loading info not clean: {problems}"]
    model.eval()
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 96, (2, 10), generator=gen)
    emb = model.get_input_embeddings().weight
    mem = (torch.randn(3, emb.shape[1], generator=gen) * emb.std()).contiguous()
    save_file({"ids": ids.float(), "mem": mem}, str(work / f"{name}.in.safetensors"))
    subprocess.run([tool, str(out), str(work / f"{name}.in.safetensors"),
                    str(work / f"{name}.out.safetensors")], check=True)
    got = load_file(str(work / f"{name}.out.safetensors"))
    want = transformers_outputs(model, ids, mem)
    return compare_outputs(name, got, want, TOL)


def main():
    run_cases(__doc__, CASES, lambda name, argv, args: check(name, argv, args.crammer, args.tool, args.workdir),
              lambda ap: ap.add_argument("--tool", required=True, help="reference_forward_tool"))


if __name__ == "__main__":
    main()
