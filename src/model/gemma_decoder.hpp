// The Gemma decoder that Gemma-2 and Gemma-3 share (transformers' modeling_gemma2.py,
// modeling_gemma3.py): token embeddings scaled by sqrt(hidden_size) inside the embedding module,
// (1 + w) RMSNorm before and after attention and before and after the GeGLU MLP, scores scaled by
// query_pre_attn_scalar^-1/2, alternating sliding-window and full layers, a tied head; Gemma-2's
// soft caps on scores and logits, Gemma-3's per-head q/k norms and a separate rotary base for the
// sliding layers (GemmaFields). Internal to the model layer.
#pragma once

#include <memory>
#include <string>

#include "config_fields.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/model/make_model.hpp"

namespace c10 {
struct TensorOptions;
}

namespace crammer {

struct Family;

// A Gemma family's record: its model type, transformers class and config dialect, with the
// checkpoint naming both share and this network.
Family gemma_style_family(const std::string& model_type, const std::string& hf_class,
                          void (*read)(const ConfigFields&, ModelSpec&), void (*write)(const ModelSpec&, json&),
                          void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*)(const std::string&)));

}  // namespace crammer
