#include "llama_fields.hpp"

#include <algorithm>
#include <cmath>

namespace crammer {

void read_llama_fields(const ConfigFields& f, ModelSpec& s, const std::string& family, int64_t default_kv_heads,
                       bool partial_rotary) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  // Per-layer lists (windows, NoPE flags) are sized by it: bound it before anything allocates.
  if (s.num_layers <= 0 || s.num_layers > kMaxLayers)
    f.fail("num_hidden_layers", "must be in 1.." + std::to_string(kMaxLayers) + ", got " + std::to_string(s.num_layers));
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = f.integer("num_key_value_heads", default_kv_heads > 0 ? default_kv_heads : s.num_heads);
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("rms_norm_eps", 1e-6);
  s.hidden_act = f.string("hidden_act", "silu");
  check_activation(f, "hidden_act", s.hidden_act);
  s.head_dim = f.integer("head_dim", s.num_heads > 0 ? s.hidden_size / s.num_heads : 0);
  read_rope(f, s, /*neox=*/false);  // after head_dim: longrope's factors are sized by it
  if (s.rotary_pct != 1.0 && !partial_rotary)
    f.fail("partial_rotary_factor", "only 1.0 (the whole head rotated) is supported for " + family);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
}

void write_llama_sizes(const ModelSpec& s, json& j) {
  j["hidden_size"] = s.hidden_size;
  j["num_hidden_layers"] = s.num_layers;
  j["num_attention_heads"] = s.num_heads;
  j["num_key_value_heads"] = s.num_kv_heads;
  j["head_dim"] = s.head_dim;
  j["intermediate_size"] = s.intermediate_size;
  j["max_position_embeddings"] = s.max_position_embeddings;
  j["rms_norm_eps"] = s.norm_eps;
}

void write_llama_fields(const ModelSpec& s, json& j) {
  write_llama_sizes(s, j);
  j["rope_theta"] = s.rope_theta;
  if (s.rotary_pct != 1.0) j["partial_rotary_factor"] = s.rotary_pct;
  j["hidden_act"] = s.hidden_act.empty() ? "silu" : s.hidden_act;
  j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
}

void llama_make_defaults(const MakeModelOptions& o, ModelSpec& s) {
  // SwiGLU has three matrices: 8d/3 keeps the MLP's parameters at those of a 4d GELU MLP.
  s.intermediate_size = o.intermediate_size > 0
                            ? o.intermediate_size
                            : (int64_t(std::ceil(8.0 * double(o.d_model) / 3.0)) + 31) / 32 * 32;
  s.hidden_act = "silu";
  s.rotary_pct = 1.0;
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(false);
}

void read_qwen_windows(const ConfigFields& f, ModelSpec& s, int64_t default_first) {
  const int64_t first = f.integer("max_window_layers", default_first);
  read_sliding_windows(f, s, "use_sliding_window", first, /*default_window=*/4096);
}

int64_t shared_sliding_window(const ModelSpec& s) {
  int64_t window = 0;
  for (int64_t w : s.layer_windows) {
    if (w == 0) continue;
    if (window != 0 && w != window)
      throw ModelLoadError(s.model_type + " config.json has one sliding_window; these layers use " +
                           std::to_string(window) + " and " + std::to_string(w));
    window = w;
  }
  return window;
}

void write_qwen_windows(const ModelSpec& s, json& j) {
  const int64_t window = shared_sliding_window(s);
  j["use_sliding_window"] = window > 0;
  j["sliding_window"] = window > 0 ? json(window) : json(nullptr);
  json types = json::array();
  int64_t first = s.num_layers;
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const bool slides = size_t(i) < s.layer_windows.size() && s.layer_windows[size_t(i)] > 0;
    if (slides && first == s.num_layers) first = i;
    types.push_back(slides ? "sliding_attention" : "full_attention");
  }
  j["max_window_layers"] = first;
  j["layer_types"] = types;
}

void write_single_window(const ModelSpec& s, json& j) {
  const int64_t window = shared_sliding_window(s);
  if (window > 0 && std::count(s.layer_windows.begin(), s.layer_windows.end(), 0) > 0)
    throw ModelLoadError(s.model_type + " config.json slides every layer or none; this spec mixes full and sliding layers");
  j["sliding_window"] = window > 0 ? json(window) : json(nullptr);
}

void apply_sliding_window_option(const MakeModelOptions& o, ModelSpec& s) {
  s.layer_windows.clear();
  if (o.sliding_window > 0) s.layer_windows.assign(size_t(s.num_layers), o.sliding_window);
}

}  // namespace crammer
