"""The model shapes of the GPU side by side (bench/gpu/run.sh), as transformers configs, and
random-weight checkpoints of them saved with transformers (save_pretrained: config.json and
safetensors), so that crammer and the paper's procedure load the same weights.

  Pythia-160M:  gpt_neox, 12 layers, d 768, 12 heads, vocab 50304, rotary_pct 0.25, untied
  Llama-3.2-1B: llama, 16 layers, d 2048, 32 heads, 8 kv heads, vocab 128256, tied, llama3 rope
  SmolLM2-135M: llama, 30 layers, d 576, 9 heads, 3 kv heads, vocab 49152, tied (the CPU side by
                side of bench/paper_speed.py)
  tiny-*:       the same families at toy sizes, for the rehearsal on a CPU
"""
import torch
import transformers

LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}

SHAPES = {
    "pythia-160m": ("gpt_neox", dict(vocab_size=50304, hidden_size=768, num_hidden_layers=12,
                                      num_attention_heads=12, intermediate_size=3072, rotary_pct=0.25,
                                      max_position_embeddings=2048, use_parallel_residual=True,
                                      tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)),
    "llama-3.2-1b": ("llama", dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192,
                                   num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                                   head_dim=64, max_position_embeddings=131072, rms_norm_eps=1e-5,
                                   rope_parameters=LLAMA3_ROPE, tie_word_embeddings=True,
                                   bos_token_id=128000, eos_token_id=128001)),
    "smollm2-135m": ("llama", dict(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                                   num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                                   head_dim=64, max_position_embeddings=8192, rms_norm_eps=1e-5,
                                   rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                                   tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)),
    "tiny-neox": ("gpt_neox", dict(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=256, rotary_pct=0.25, max_position_embeddings=256,
                                   use_parallel_residual=True, tie_word_embeddings=False)),
    "tiny-llama": ("llama", dict(vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                 max_position_embeddings=16384, rope_parameters=LLAMA3_ROPE,
                                 tie_word_embeddings=True)),
}


def config(model_type, **fields):
    return transformers.AutoConfig.for_model(model_type, **fields)


def save_random(cfg, out, device="cpu", dtype=torch.float32, seed=0):
    """A model of cfg with transformers' own random init (on `device`: a GPU makes the 1B
    shape in seconds), saved to `out` in `dtype`. Returns the model."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.to(dtype).save_pretrained(out)
    return model


def main():
    import argparse
    ap = argparse.ArgumentParser(description="save a random-weight checkpoint of a bench shape")
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("out")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="bf16")
    args = ap.parse_args()
    model_type, fields = SHAPES[args.shape]
    save_random(config(model_type, **fields), args.out, args.device,
                torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    print(f"shapes: {args.shape} saved to {args.out} ({args.dtype})")


if __name__ == "__main__":
    main()
