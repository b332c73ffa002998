// The Llama-style decoder that several families share (transformers' modeling_llama.py and the
// models copied from it): pre-norm RMSNorm blocks, rotary attention with grouped kv heads,
// SwiGLU MLP, final RMSNorm, an optional separate LM head. What differs between those families
// is either fixed by the family (LlamaStyle: q/k/v-only biases, q/k RMSNorm, norms after the
// blocks, LayerNorm without parameters, fused projections) or read from its config.json
// (LlamaStyleFields: biases, clip_qkv, NoPE layers; ModelSpec: sliding windows, rotary).
// Internal to the model layer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config_fields.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/model/make_model.hpp"

namespace c10 {
struct TensorOptions;
}

namespace crammer {

// What a family's decoder always has, whatever its config.json says.
struct LlamaStyle {
  bool qkv_bias = false;                  // qwen2: biases on q, k and v, none on o
  bool qk_norm = false;                   // qwen3: RMSNorm of each q and k head before rotary
  bool qk_norm_whole = false;             // olmo2: that RMSNorm over the whole q and k projections
  bool norms_after_blocks = false;        // olmo2: x + norm(attn(x)), x + norm(mlp(x)); no input norms
  bool rms_norm_gain_in_f32 = false;      // olmo2: RMSNorm's gain applied in f32, then cast back
  bool parameterless_layer_norm = false;  // olmo: LayerNorm without gain or bias instead of RMSNorm
  bool fused_projections = false;         // phi3: one qkv_proj and one gate_up_proj weight
};

std::shared_ptr<CausalLM> make_llama_decoder(const ModelSpec& spec, const LlamaStyle& style,
                                             const c10::TensorOptions& options);

struct Family;

// A Llama-style family's record: its model type, transformers class and config dialect, with
// the checkpoint naming they all share (transformers' LlamaModel layout) and this network.
Family llama_style_family(const std::string& model_type, const std::string& hf_class,
                          void (*read)(const ConfigFields&, ModelSpec&), void (*write)(const ModelSpec&, json&),
                          void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*)(const std::string&)),
                          const LlamaStyle& style = {}, const std::vector<std::string>& options = {});

}  // namespace crammer
