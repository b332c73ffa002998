#!/usr/bin/env python3
"""Golden fixtures: random-weight checkpoints written by transformers' save_pretrained, with
transformers' own outputs for fixed token ids, for crammer to be checked against.

Usage: make_fixtures.py OUT_DIR [--case NAME ...]

OUT_DIR/<case>/ holds the checkpoint (config.json + safetensors, sharded for some cases) and
expected.safetensors:
  ids [B, T]            token ids (stored as F32: exact for ids < 2^24)
  logits [B, T, V]      model(input_ids=ids).logits
  loss [B], acc [B]     per row: model(input_ids=row, labels=row).loss and the share of
                        argmax(logits[:-1]) == ids[1:]  (the paper's baseline)
  mem [k, d]            a [mem] prefix
  mem_logits [B, k+T, V] model(inputs_embeds=cat(mem, embed(ids))).logits
computed in f32 (bf16 checkpoints upcast). bf16 cases also hold the same outputs computed in
bf16 (suffix _bf16). meta.json says what the case exercises and the versions used.

Runs in the venv of scripts/venv.sh (transformers pinned in
scripts/python-requirements.txt). Deterministic in the case seeds.
"""
import argparse
import json
import pathlib
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file

V, D, HEADS, LAYERS, FFN = 128, 32, 4, 2, 64
B, T, K = 2, 12, 2

# name -> (model_type, config overrides, description); every case: V, D, HEADS, LAYERS, FFN.
CASES = {
    "gpt2-tied": ("gpt2", {}, "GPT-2, tied head, gelu_new"),
    "gpt2-untied": ("gpt2", {"tie_word_embeddings": False, "activation_function": "gelu"},
                    "GPT-2, untied head, exact gelu"),
    "neox-parallel": ("gpt_neox", {"rotary_pct": 0.25, "use_parallel_residual": True},
                      "GPT-NeoX (Pythia): parallel residual, 1/4 of head_dim rotated"),
    "neox-sequential": ("gpt_neox", {"rotary_pct": 1.0, "use_parallel_residual": False,
                                     "rotary_emb_base": 500.0},
                        "GPT-NeoX: sequential residual, full rotary, theta 500"),
    "neox-tied-bf16-sharded": ("gpt_neox", {"rotary_pct": 0.5, "tie_word_embeddings": True,
                                            "dtype": "bfloat16"},
                               "GPT-NeoX: tied head, half rotary, bf16 weights in 3+ shards"),
    "llama-mha-tied": ("llama", {"tie_word_embeddings": True},
                       "Llama: 4 query heads, 4 kv heads, tied head"),
    "llama-gqa": ("llama", {"num_key_value_heads": 2}, "Llama: GQA 4 query heads : 2 kv heads"),
    "llama-mqa": ("llama", {"num_key_value_heads": 1}, "Llama: MQA 4 query heads : 1 kv head"),
    "llama-head-dim": ("llama", {"head_dim": 16, "num_key_value_heads": 2},
                       "Llama: head_dim 16 != hidden/heads 8, GQA 2:1"),
    "llama-rope-llama3": ("llama", {"rope_parameters": {
        "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 8}},
        "Llama-3.1 rope scaling (original context 8: every band of the formula is used)"),
    "llama-rope-linear": ("llama", {"rope_parameters": {
        "rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0}},
        "Llama: linear rope scaling (position interpolation), factor 4"),
    "llama-bias": ("llama", {"attention_bias": True, "mlp_bias": True},
                   "Llama: biases on attention and MLP projections"),
    "llama-gqa-bf16-sharded": ("llama", {"num_key_value_heads": 2, "dtype": "bfloat16"},
                               "Llama: GQA, bf16 weights in 3+ shards"),
    # Sliding windows are shorter than k + T = 14, so the window masks [mem] and tokens away.
    "mistral-window": ("mistral", {"num_key_value_heads": 2, "sliding_window": 5},
                       "Mistral: GQA 2:1, sliding window 5 on every layer"),
    "mistral-full": ("mistral", {"sliding_window": None, "tie_word_embeddings": True},
                     "Mistral: sliding_window null (full attention), tied head"),
    "qwen2-window": ("qwen2", {"num_key_value_heads": 2, "use_sliding_window": True,
                               "sliding_window": 4, "max_window_layers": 1},
                     "Qwen2: q/k/v biases without o bias, GQA, layer 1 slides (window 4), layer 0 full"),
    "qwen2-bf16-sharded": ("qwen2", {"dtype": "bfloat16", "tie_word_embeddings": True},
                           "Qwen2: tied head, bf16 weights in 3+ shards"),
    "qwen3-qk-norm": ("qwen3", {"head_dim": 16, "num_key_value_heads": 2},
                      "Qwen3: per-head q/k RMSNorm, head_dim 16 != hidden/heads 8, GQA 2:1"),
    "qwen3-bias-window": ("qwen3", {"head_dim": 8, "attention_bias": True, "use_sliding_window": True,
                                    "sliding_window": 6, "max_window_layers": 0},
                          "Qwen3: q/k/v/o biases, every layer slides (window 6)"),
    "smollm3-nope": ("smollm3", {"pad_token_id": None, "no_rope_layer_interval": 2,
                                 "num_key_value_heads": 2},
                     "SmolLM3: layer 1 without rotary (NoPE), GQA 2:1, tied head"),
    "smollm3-window-bias": ("smollm3", {"pad_token_id": None, "no_rope_layers": [0, 1],
                                        "use_sliding_window": True, "sliding_window": 5, "attention_bias": True,
                                        "mlp_bias": True, "tie_word_embeddings": False},
                            "SmolLM3: layer 0 NoPE and sliding (window 5), every bias, untied"),
    "olmo-clip": ("olmo", {"pad_token_id": None, "clip_qkv": 0.5, "num_key_value_heads": 2},
                  "OLMo: LayerNorm without parameters, clip_qkv 0.5 (clamps many q/k/v), GQA 2:1"),
    "olmo-bias-bf16-sharded": ("olmo", {"pad_token_id": None, "attention_bias": True,
                                        "tie_word_embeddings": True, "dtype": "bfloat16"},
                               "OLMo: q/k/v/o biases, tied head, bf16 weights in 3+ shards"),
    "opt-prenorm": ("opt", {}, "OPT (opt-125m..1.3b): pre-norm, ReLU, biases, positions at +2, tied head"),
    "opt-350m-layout": ("opt", {"do_layer_norm_before": False, "word_embed_proj_dim": 16,
                                "tie_word_embeddings": False},
                        "OPT as opt-350m: norms after the residual adds, no final norm, embeddings, "
                        "[mem] and untied head in 16 dims (project_in/out)"),
    "opt-plain-bf16-sharded": ("opt", {"enable_bias": False, "layer_norm_elementwise_affine": False,
                                       "dtype": "bfloat16"},
                               "OPT: no biases, LayerNorms without parameters, bf16 weights in 3+ shards"),
    "olmo2-gqa": ("olmo2", {"pad_token_id": None, "num_key_value_heads": 2},
                  "OLMo-2: norms after attention and MLP, q/k RMSNorm over the whole projections, GQA 2:1"),
    "olmo2-bias-bf16-sharded": ("olmo2", {"pad_token_id": None, "attention_bias": True,
                                          "tie_word_embeddings": True, "dtype": "bfloat16"},
                                "OLMo-2: q/k/v/o biases, tied head, bf16 weights in 3+ shards"),
    "phi3-window-gqa": ("phi3", {"pad_token_id": None, "num_key_value_heads": 2, "sliding_window": 5},
                        "Phi-3: fused qkv_proj and gate_up_proj, GQA 2:1, sliding window 5 on every layer"),
    # Pretraining length 12: the 12-token forwards take the short factors, the 14 of [mem] +
    # text the long ones; both scale cos/sin by sqrt(1 + ln(64/12) / ln(12)).
    "phi3-longrope": ("phi3", {"pad_token_id": None, "original_max_position_embeddings": 12,
                               "rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0,
                                                   "short_factor": [1.0, 1.3, 2.1, 3.7],
                                                   "long_factor": [1.1, 2.9, 7.0, 19.0]}},
                      "Phi-3: longrope, short factors up to 12 positions, long beyond"),
    "phi4mini-partial-bf16-sharded": ("phi3", {"pad_token_id": None, "partial_rotary_factor": 0.75,
                                               "tie_word_embeddings": True, "dtype": "bfloat16"},
                                      "Phi-4-mini layout: 3/4 of head_dim rotated, tied head, bf16 in 3+ shards"),
    # Gemma: head_dim and query_pre_attn_scalar set (their defaults, 256, fit no small model);
    # soft caps small enough that they bend many scores and logits.
    "gemma2-softcap-window": ("gemma2", {"pad_token_id": None, "head_dim": 8, "query_pre_attn_scalar": 12,
                                         "num_key_value_heads": 2, "sliding_window": 5,
                                         "attn_logit_softcapping": 2.0, "final_logit_softcapping": 3.0},
                              "Gemma-2: (1+w) norms around attention and MLP, scores scaled by 12^-1/2 and "
                              "capped at 2, logits capped at 3, layer 0 slides (window 5), GQA 2:1, tied"),
    "gemma2-bias-bf16-sharded": ("gemma2", {"pad_token_id": None, "head_dim": 8, "query_pre_attn_scalar": 8,
                                            "attention_bias": True, "tie_word_embeddings": False,
                                            "dtype": "bfloat16"},
                                 "Gemma-2: default caps 50 / 30, q/k/v/o biases, untied, bf16 in 3+ shards"),
    "gemma3-two-bases": ("gemma3_text", {"pad_token_id": None, "head_dim": 16, "query_pre_attn_scalar": 12,
                                         "num_key_value_heads": 2, "sliding_window": 5,
                                         "layer_types": ["sliding_attention", "full_attention"],
                                         "final_logit_softcapping": 4.0,
                                         "rope_parameters": {
                                             "full_attention": {"rope_type": "linear", "factor": 4.0,
                                                                "rope_theta": 1000000.0},
                                             "sliding_attention": {"rope_type": "default", "rope_theta": 10.0}}},
                         "Gemma-3: per-head (1+w) q/k norms, sliding layer 0 (window 5, rope base 10) and "
                         "full layer 1 (base 1e6, linear scaling 4), head_dim 16, logits capped at 4"),
    "gemma3-bf16-sharded": ("gemma3_text", {"pad_token_id": None, "head_dim": 8, "query_pre_attn_scalar": 8,
                                            "sliding_window_pattern": 2, "sliding_window": 6,
                                            "dtype": "bfloat16"},
                            "Gemma-3 (1B layout): legacy rope fields, pattern 2 (layer 0 slides), tied, "
                            "bf16 in 3+ shards"),
    "mamba-tied": ("mamba", {"pad_token_id": None, "state_size": 8, "time_step_rank": 4},
                   "Mamba (the 130m-hf layout): selective scan with state 8, conv kernel 4, dt rank 4, "
                   "f32 residual stream, tied head"),
    "mamba-plain-k3": ("mamba", {"pad_token_id": None, "state_size": 4, "conv_kernel": 3, "use_conv_bias": False,
                                 "residual_in_fp32": False, "expand": 3},
                       "Mamba: conv kernel 3 without bias, expand 3, state 4, dt rank auto (2), residual in the compute dtype"),
    "mamba-bias-bf16-sharded": ("mamba", {"pad_token_id": None, "use_bias": True, "tie_word_embeddings": False,
                                          "dtype": "bfloat16"},
                                "Mamba: in/out projection biases, untied, bf16 weights in 3+ shards (f32 residual)"),
}

# transformers' fused attention drops Gemma-2's score cap: its eager attention is the model.
EAGER = ("gemma2", "gemma3_text")


def make_config(model_type, overrides):
    base = {"vocab_size": V, "bos_token_id": 1, "eos_token_id": 2}
    if model_type == "gpt2":
        base.update(n_embd=D, n_head=HEADS, n_layer=LAYERS, n_inner=FFN, n_positions=64)
    elif model_type == "mamba":
        base.update(hidden_size=D, num_hidden_layers=LAYERS)
    elif model_type == "opt":
        base.update(hidden_size=D, num_attention_heads=HEADS, num_hidden_layers=LAYERS,
                    ffn_dim=FFN, max_position_embeddings=64)
    else:
        base.update(hidden_size=D, num_attention_heads=HEADS, num_hidden_layers=LAYERS,
                    intermediate_size=FFN, max_position_embeddings=64)
    if model_type in ("llama", "mistral", "qwen2", "qwen3", "smollm3", "olmo", "olmo2", "phi3"):  # defaults differ
        base["num_key_value_heads"] = HEADS
    if model_type in ("llama", "mistral", "qwen2", "qwen3", "smollm3"):
        base["rms_norm_eps"] = 1e-5
    base.update({k: v for k, v in overrides.items() if k != "dtype"})
    return transformers.AutoConfig.for_model(model_type, **base)


def randomize(model, gen):
    """Weights far from HF's init (std 0.02, norms at 1, biases 0), so that every parameter,
    norm gain and bias changes the logits visibly."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[0] if "c_attn" in name or "c_fc" in name or "c_proj" in name \
                    else p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def outputs(model, ids, mem):
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
        loss, acc = [], []
        for row in ids:
            r = row.unsqueeze(0)
            out = model(input_ids=r, labels=r)
            loss.append(out.loss.float())
            pred = out.logits[0, :-1].argmax(-1)
            acc.append((pred == row[1:]).float().mean())
        embeds = model.get_input_embeddings()(ids)
        prefix = mem.to(embeds.dtype).unsqueeze(0).expand(ids.shape[0], -1, -1)
        mem_logits = model(inputs_embeds=torch.cat([prefix, embeds], dim=1)).logits.float()
    return {"logits": logits.contiguous(), "loss": torch.stack(loss), "acc": torch.stack(acc),
            "mem_logits": mem_logits.contiguous()}


def make_case(out_dir, name, seed):
    model_type, overrides, description = CASES[name]
    gen = torch.Generator().manual_seed(seed)
    config = make_config(model_type, overrides)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    randomize(model, gen)
    model.eval()
    bf16 = overrides.get("dtype") == "bfloat16"
    if bf16:
        model = model.to(torch.bfloat16)
    case_dir = out_dir / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    # Sharded cases: shards of ~12 KB put the tensors of one checkpoint in several files.
    model.save_pretrained(case_dir, max_shard_size="12KB" if bf16 else "50GB")

    ids = torch.randint(3, V, (B, T), generator=gen)
    emb = model.get_input_embeddings().weight.float()
    mem = torch.randn(K, emb.shape[1], generator=gen) * emb.std()  # where inputs_embeds live
    expected = {"ids": ids.float(), "mem": mem}
    # Outputs of the checkpoint as users load it (from_pretrained in each compute dtype), so
    # that buffers such as rotary inv_freq are computed as transformers computes them.
    for compute, dtype in (("bf16", torch.bfloat16), ("f32", torch.float32)):
        if compute == "bf16" and not bf16:
            continue
        extra = {"attn_implementation": "eager"} if model_type in EAGER else {}
        loaded = transformers.AutoModelForCausalLM.from_pretrained(case_dir, dtype=dtype, **extra).eval()
        suffix = "_bf16" if compute == "bf16" else ""
        expected.update({k + suffix: v for k, v in outputs(loaded, ids, mem).items()})
    save_file(expected, str(case_dir / "expected.safetensors"))
    meta = {"case": name, "model_type": model_type, "description": description,
            "weights_dtype": "bfloat16" if bf16 else "float32",
            "outputs": ["f32", "bf16"] if bf16 else ["f32"],
            "transformers": transformers.__version__, "torch": torch.__version__, "seed": seed}
    (case_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=pathlib.Path)
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="only these cases")
    args = ap.parse_args()
    torch.manual_seed(0)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(CASES):
        if args.case and name not in args.case:
            continue
        make_case(args.out_dir, name, seed=1000 + i)
        print(f"fixture {name}: {CASES[name][2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
