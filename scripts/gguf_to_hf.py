#!/usr/bin/env python3
"""A llama-architecture GGUF file (llama.cpp's format) -> a Hugging Face checkpoint directory that
crammer and transformers both load: model.safetensors (f32), config.json, tokenizer.json.

Weights: read and dequantised with the `gguf` package (every quantisation type), renamed from
llama.cpp's names to transformers' Llama names, and the q/k rows put back in transformers' order
(llama.cpp's converter interleaves the two rotary halves of each head; this undoes it). config.json
from the GGUF metadata. The tokenizer: transformers' own GGUF tokenizer conversion (the reference
conversion), saved as tokenizer.json. A tensor, architecture or field this does not know is an
error naming it. Not for: other architectures (add their name tables), or writing GGUF.

  .venv/bin/python scripts/gguf_to_hf.py MODEL.gguf OUT_DIR
"""
import argparse
import json
import os
import pathlib
import sys

import numpy as np
import torch
from gguf import GGUFReader, GGUFValueType, dequantize
from safetensors.torch import save_file

LAYER = {  # llama.cpp name after "blk.N." -> transformers name after "model.layers.N."
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}


def fail(path, what):
    sys.exit(f"gguf_to_hf: {path}: {what}")


def field(reader, path, key, default=None):
    """A scalar, string or array metadata value by its GGUF key."""
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            fail(path, f"metadata key '{key}' is missing")
        return default
    kind = f.types[0]
    if kind == GGUFValueType.ARRAY:
        return [_value(f.parts[i], f.types[1]) for i in f.data]
    return _value(f.parts[f.data[0]], kind)


def _value(part, kind):
    return bytes(part).decode("utf-8") if kind == GGUFValueType.STRING else part.tolist()[0]


def unpermute(w, heads):
    """llama.cpp stores each head's rows as (pairs, 2) interleaved; transformers as (2, pairs)."""
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def convert_config(reader, path, n_vocab):
    arch = field(reader, path, "general.architecture")
    if arch != "llama":
        fail(path, f"general.architecture '{arch}': this converter knows llama only")
    g = lambda key, default=None: field(reader, path, f"llama.{key}", default)  # noqa: E731
    d, heads = g("embedding_length"), g("attention.head_count")
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "float32",
        "vocab_size": n_vocab, "hidden_size": d, "intermediate_size": g("feed_forward_length"),
        "num_hidden_layers": g("block_count"), "num_attention_heads": heads,
        "num_key_value_heads": g("attention.head_count_kv", heads),
        "head_dim": g("rope.dimension_count", d // heads),
        "max_position_embeddings": g("context_length"),
        "rms_norm_eps": g("attention.layer_norm_rms_epsilon"),
        "rope_theta": float(g("rope.freq_base", 10000.0)), "hidden_act": "silu",
        "attention_bias": False, "mlp_bias": False,
        "bos_token_id": field(reader, path, "tokenizer.ggml.bos_token_id", -1),
        "eos_token_id": field(reader, path, "tokenizer.ggml.eos_token_id", -1),
    }


def convert_weights(reader, path, cfg):
    out = {}
    for t in reader.tensors:
        name, rest = t.name, None
        parts = name.split(".", 2)
        if name in GLOBAL:
            hf = GLOBAL[name]
        elif parts[0] == "blk" and len(parts) == 3 and parts[2] in LAYER:
            rest = parts[2]
            hf = f"model.layers.{parts[1]}.{LAYER[rest]}"
        else:
            fail(path, f"tensor '{name}' has no transformers name in this converter")
        w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)  # numpy [out, in]
        if rest == "attn_q.weight":
            w = unpermute(w, cfg["num_attention_heads"])
        elif rest == "attn_k.weight":
            w = unpermute(w, cfg["num_key_value_heads"])
        out[hf] = torch.from_numpy(np.array(w, order="C"))  # a writable copy
    missing = [n for n in ("model.embed_tokens.weight", "model.norm.weight") if n not in out]
    layers = {int(n.split(".")[2]) for n in out if n.startswith("model.layers.")}
    if missing or layers != set(range(cfg["num_hidden_layers"])):
        fail(path, f"tensors missing: {missing or ''} layers {sorted(layers)} for block_count "
                   f"{cfg['num_hidden_layers']}")
    cfg["tie_word_embeddings"] = "lm_head.weight" not in out
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gguf")
    ap.add_argument("out")
    args = ap.parse_args()
    reader = GGUFReader(args.gguf)
    tokens = field(reader, args.gguf, "tokenizer.ggml.tokens")
    cfg = convert_config(reader, args.gguf, len(tokens))
    weights = convert_weights(reader, args.gguf, cfg)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    # The tokenizer: transformers' GGUF conversion, the reference one.
    import transformers
    transformers.logging.set_verbosity_error()
    tok = transformers.AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(args.gguf)),
                                                     gguf_file=os.path.basename(args.gguf))
    tok.save_pretrained(out)
    print(f"gguf_to_hf: {args.gguf} -> {out}: {len(weights)} tensors, {cfg['num_hidden_layers']} layers, "
          f"d {cfg['hidden_size']}, vocab {cfg['vocab_size']}, tied head {cfg['tie_word_embeddings']}")


if __name__ == "__main__":
    main()
