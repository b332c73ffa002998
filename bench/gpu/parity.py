#!/usr/bin/env python3
"""crammer's logits against transformers' on one device, every model family crammer implements:
a random-weight checkpoint of each saved with transformers (save_pretrained), the same ids and
[mem] prefix through both, in f32 and in bf16 (weights in the dtype, as each loads them).

  f32:  max |crammer - transformers| / max |transformers| <= 1e-4 for the logits, the [mem]-prefix
        logits and the baseline loss; baseline accuracies equal.
  bf16: against transformers in bf16, the same measure <= 2e-2 (bf16 keeps 8 significant bits;
        the two order their sums differently), and crammer in bf16 is no further from
        transformers in f32 than transformers in bf16 is, times 2, plus 1e-3.

  python3 bench/gpu/parity.py --tool build/.../reference_forward_tool --device cuda --workdir W
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench/gpu"), str(ROOT / "tests/reference")]
import shapes  # noqa: E402
from hf_outputs import rel, transformers_outputs  # noqa: E402

F32_TOL, BF16_TOL = 1e-4, 2e-2
IDS = dict(bos_token_id=1, eos_token_id=2, pad_token_id=0)  # inside the toy vocabulary
COMMON = dict(IDS, vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=256, initializer_range=0.2)
ROPE = dict(COMMON, intermediate_size=128, num_key_value_heads=2)

# name -> (model_type, config fields). Sizes are toys; each family's own options are set where
# crammer implements them (sliding windows, soft caps, qk norms, partial rotary, projections).
FAMILIES = {
    "gpt2": ("gpt2", dict(IDS, vocab_size=512, n_embd=64, n_layer=2, n_head=4, n_positions=256, initializer_range=0.2)),
    "gpt_neox": ("gpt_neox", dict(COMMON, intermediate_size=256, rotary_pct=0.25)),
    "llama": ("llama", dict(ROPE)),
    "llama-3.2-1b-mini": ("llama", dict(ROPE, head_dim=16, tie_word_embeddings=True, max_position_embeddings=16384,
                                        rope_parameters=shapes.LLAMA3_ROPE)),
    "mistral": ("mistral", dict(ROPE, sliding_window=8)),
    "qwen2": ("qwen2", dict(ROPE)),
    "qwen3": ("qwen3", dict(ROPE, head_dim=16)),
    "smollm3": ("smollm3", dict(ROPE, num_hidden_layers=4)),
    "olmo": ("olmo", dict(ROPE, clip_qkv=0.5)),
    "olmo2": ("olmo2", dict(ROPE)),
    "opt": ("opt", dict(IDS, vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=128,
                        max_position_embeddings=256, word_embed_proj_dim=32, init_std=0.2)),
    "phi3": ("phi3", dict(ROPE, partial_rotary_factor=0.5)),
    "gemma2": ("gemma2", dict(ROPE, head_dim=16, sliding_window=8)),
    "gemma3_text": ("gemma3_text", dict(ROPE, head_dim=16, sliding_window=8, num_hidden_layers=3)),
    "mamba": ("mamba", dict(IDS, vocab_size=512, hidden_size=64, num_hidden_layers=2, state_size=8,
                            initializer_range=0.2)),
}
# transformers' fused attention drops Gemma's score soft-cap: its eager attention is the model.
EAGER = ("gemma2", "gemma3_text")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="reference_forward_tool")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--workdir", required=True, type=pathlib.Path)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    device = torch.device(args.device)

    # 1. checkpoints and inputs; 2. crammer, every case in one process; 3. transformers, compare.
    gen = torch.Generator().manual_seed(3)
    cases, models = [], {}
    for name, (model_type, fields) in FAMILIES.items():
        ckpt = args.workdir / name
        extra = {"attn_implementation": "eager"} if model_type in EAGER else {}
        model = shapes.save_random(shapes.config(model_type, **fields, **extra), ckpt, seed=len(cases))
        ids = torch.randint(0, fields.get("vocab_size", 512), (2, 24), generator=gen)
        emb = model.get_input_embeddings().weight
        mem = (torch.randn(3, emb.shape[1], generator=gen) * emb.std()).contiguous()
        save_file({"ids": ids.float(), "mem": mem}, str(args.workdir / f"{name}.in.safetensors"))
        models[name] = (model_type, extra, ids, mem)
        for dtype in ("f32", "bf16"):
            cases.append(f"{ckpt} {args.workdir / f'{name}.in.safetensors'} "
                         f"{args.workdir / f'{name}.{dtype}.out.safetensors'} {dtype} {args.device}")
    (args.workdir / "cases.txt").write_text("\n".join(cases) + "\n")
    tool = subprocess.run([args.tool, "--cases", str(args.workdir / "cases.txt")])

    errors, figures = [], {}
    print(f"{'family':<20} {'f32 logits':>11} {'f32 mem':>9} {'f32 loss':>9} {'bf16 logits':>12} "
          f"{'bf16 mem':>9} {'hf bf16':>9}   (relative to transformers' max |logit|)")
    for name, (model_type, extra, ids, mem) in models.items():
        want = {}
        for dtype in (torch.float32, torch.bfloat16):
            model = transformers.AutoModelForCausalLM.from_pretrained(
                args.workdir / name, dtype=dtype, **extra).to(device).eval()
            want[dtype] = transformers_outputs(model, ids.to(device), mem)
        f = {}
        try:
            got32 = load_file(str(args.workdir / f"{name}.f32.out.safetensors"))
            got16 = load_file(str(args.workdir / f"{name}.bf16.out.safetensors"))
        except FileNotFoundError as e:
            errors.append(f"{name}: crammer wrote no output ({e})")
            continue
        ref, hf16 = want[torch.float32], want[torch.bfloat16]
        for key in ("logits", "mem_logits", "loss"):
            f[f"f32_{key}"] = rel(got32[key], ref[key])
            if f[f"f32_{key}"] > F32_TOL:
                errors.append(f"{name}: f32 {key} relative error {f[f'f32_{key}']:.2e} > {F32_TOL}")
        if not torch.equal(got32["acc"], ref["acc"]):
            errors.append(f"{name}: f32 acc {got32['acc'].tolist()} != transformers {ref['acc'].tolist()}")
        for key in ("logits", "mem_logits"):
            f[f"bf16_{key}"] = rel(got16[key], hf16[key])
            f[f"bf16_{key}_vs_f32"] = rel(got16[key], ref[key])
            f[f"hf_bf16_{key}_vs_f32"] = rel(hf16[key], ref[key])
            if f[f"bf16_{key}"] > BF16_TOL:
                errors.append(f"{name}: bf16 {key} relative error {f[f'bf16_{key}']:.2e} > {BF16_TOL}")
            bound = 2 * f[f"hf_bf16_{key}_vs_f32"] + 1e-3
            if f[f"bf16_{key}_vs_f32"] > bound:
                errors.append(f"{name}: bf16 {key} is {f[f'bf16_{key}_vs_f32']:.2e} from f32, transformers' bf16 "
                              f"{f[f'hf_bf16_{key}_vs_f32']:.2e} (bound {bound:.2e})")
        figures[name] = f
        print(f"{name:<20} {f['f32_logits']:11.2e} {f['f32_mem_logits']:9.2e} {f['f32_loss']:9.2e} "
              f"{f['bf16_logits']:12.2e} {f['bf16_mem_logits']:9.2e} {f['hf_bf16_logits_vs_f32']:9.2e}")
    if tool.returncode != 0:
        errors.append(f"reference_forward_tool exited with {tool.returncode}")
    for e in errors:
        print("FAIL " + e, file=sys.stderr)
    print(f"parity on {args.device}: {len(figures)} families compared, {len(errors)} failures "
          f"(torch {torch.__version__}, transformers {transformers.__version__})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": args.device, "torch": torch.__version__, "transformers": transformers.__version__,
                       "f32_tolerance": F32_TOL, "bf16_tolerance": BF16_TOL, "families": figures,
                       "failures": errors}, fh, indent=2)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
