// The Llama-style decoder that several families share (transformers' modeling_llama.py and the
// models copied from it): pre-norm RMSNorm blocks, rotary attention with grouped kv heads,
// SwiGLU MLP, final RMSNorm, an optional separate LM head. What differs between those families
// is a ModelSpec switch: q/k/v (and output) biases, MLP biases, per-head q/k RMSNorm (qwen3),
// per-layer sliding windows (mistral, qwen2, qwen3), layers without rotary (smollm3), LayerNorm
// without parameters and clamped q/k/v (olmo). Internal to the model layer.
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

std::shared_ptr<CausalLM> make_llama_decoder(const ModelSpec& spec, const c10::TensorOptions& options);

struct Family;

// A Llama-style family's record: its model type, transformers class and config dialect, with
// the checkpoint naming they all share (transformers' LlamaModel layout) and this network.
Family llama_style_family(const std::string& model_type, const std::string& hf_class,
                          void (*read)(const ConfigFields&, ModelSpec&), void (*write)(const ModelSpec&, json&),
                          void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*)(const std::string&)));

}  // namespace crammer
