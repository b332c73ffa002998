// The config.json fields every Llama-style family writes the same way (llama, mistral, qwen2,
// qwen3: transformers copied LlamaConfig's sizes, norm, activation and rotary fields), the
// optional switches some of them read (LlamaStyleFields), and make-model's shared defaults.
// Each family file adds its own fields around these. Internal to the model layer.
#pragma once

#include <vector>

#include "config_fields.hpp"
#include "crammer/model/make_model.hpp"

namespace crammer {

// The Llama-style decoder's optional parts that config.json turns on (each family reads the
// ones its config class has; the rest keep these defaults).
struct LlamaStyleFields : FamilyFields {
  bool attention_bias = false;  // biases on q, k, v and o (llama, qwen3, smollm3, olmo, olmo2)
  bool mlp_bias = false;        // llama, smollm3
  double clip_qkv = 0;          // olmo: q, k, v clamped to [-clip_qkv, clip_qkv]; 0 = not
  // Per layer: true = no rotary on this layer ("NoPE", smollm3). Empty = rotary everywhere.
  std::vector<bool> nope_layers;
};

constexpr int64_t kMaxLayers = 100000;  // far above any model; bounds per-layer lists from config.json

// Sizes, rms_norm_eps, hidden_act, rope (whole head rotated), tie_word_embeddings and head_dim
// (default hidden_size / heads). `family` names the model type in errors; `default_kv_heads`
// is the config class's num_key_value_heads when the field is absent (0: num_attention_heads).
// partial_rotary: partial_rotary_factor < 1 allowed (phi3); refused otherwise.
void read_llama_fields(const ConfigFields& f, ModelSpec& s, const std::string& family, int64_t default_kv_heads = 0,
                       bool partial_rotary = false);
void write_llama_fields(const ModelSpec& s, json& j);
// The sizes and rms_norm_eps alone (Gemma writes its own activation and rotary fields).
void write_llama_sizes(const ModelSpec& s, json& j);

// SwiGLU at 8d/3 rounded up to 32 (unless --intermediate-size), silu, whole head rotated,
// untied unless --tie-word-embeddings.
void llama_make_defaults(const MakeModelOptions& o, ModelSpec& s);

// Qwen2 / Qwen3's window fields: use_sliding_window, sliding_window, max_window_layers (default
// `default_first`) and layer_types, read and written as transformers does.
void read_qwen_windows(const ConfigFields& f, ModelSpec& s, int64_t default_first);
void write_qwen_windows(const ModelSpec& s, json& j);

// The one window every sliding layer shares (0 when none slides); ModelLoadError naming the
// family when the layers' windows differ (these config.json dialects have one sliding_window).
int64_t shared_sliding_window(const ModelSpec& s);

// Mistral / Phi-3's one sliding_window for every layer, or null; ModelLoadError when the spec
// mixes full and sliding layers.
void write_single_window(const ModelSpec& s, json& j);

// make-model's --sliding-window on every layer (0: none).
void apply_sliding_window_option(const MakeModelOptions& o, ModelSpec& s);

}  // namespace crammer
