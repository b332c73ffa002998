// Gemma-2 and Gemma-3's own config.json fields (GemmaFields, carried by ModelSpec::family_fields)
// and the dialect both write: hidden_activation, head_dim 256 unless given, query_pre_attn_scalar,
// the soft caps, layer_types or the alternating sliding pattern. Internal to the model layer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config_fields.hpp"
#include "crammer/model/make_model.hpp"

namespace crammer {

struct GemmaFields : FamilyFields {
  bool attention_bias = false;         // biases on q, k, v and o
  int64_t query_pre_attn_scalar = 256;  // attention scores scaled by its ^-1/2, not head_dim's
  double attn_logit_softcap = 0;       // gemma2: scores capped at c * tanh(s / c); 0 = not
  double final_logit_softcap = 0;      // logits capped likewise; 0 = not
  bool qk_norm = false;                // gemma3: (1 + w) RMSNorm of each q and k head before rotary
  // gemma3: the sliding layers' own rotary (rope_local_base_freq, or rope_parameters'
  // sliding_attention); ModelSpec's rope_theta and rope_scaling serve the full-attention layers.
  // Per layer: a "sliding_attention" layer (layer_types). It attends within sliding_window (the
  // spec's layer_windows; none when the window is null) and takes gemma3's local rotary.
  std::vector<bool> sliding;
  bool local_rope = false;
  double local_rope_theta = 10000.0;
  std::optional<RopeScaling> local_rope_scaling;
};

// The spec's GemmaFields; ModelLoadError naming the model type when it carries none.
const GemmaFields& gemma_fields(const ModelSpec& s);

// Sizes, rms_norm_eps, hidden_activation, head_dim, attention_bias, tie_word_embeddings,
// query_pre_attn_scalar, the soft caps (absent: the config class's defaults; null: none) and
// the windows: layer_types when given, else layer i slides when (i + 1) % pattern != 0 (gemma2:
// pattern 2, gemma3: sliding_window_pattern, 6); a null window is refused, as transformers fails on it.
// Rotary is the family's own (gemma2.cpp, gemma3_text.cpp).
void read_gemma_fields(const ConfigFields& f, ModelSpec& s, GemmaFields& g, double default_attn_cap,
                       double default_final_cap, int64_t pattern);
void write_gemma_fields(const ModelSpec& s, const GemmaFields& g, json& j);

// s.layer_windows from g.sliding: `window` on the sliding layers; none when window is 0.
void set_gemma_windows(ModelSpec& s, const GemmaFields& g, int64_t window);

// make-model: the Llama sizes with gelu_pytorch_tanh, tied unless --tie-embeddings false, eps
// 1e-6, query_pre_attn_scalar = head_dim; with --sliding-window the pattern's layers slide,
// without it every layer is full.
void gemma_make_defaults(const MakeModelOptions& o, ModelSpec& s, GemmaFields& g, int64_t pattern);

}  // namespace crammer
