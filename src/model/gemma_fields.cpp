#include "gemma_fields.hpp"

#include <algorithm>

#include "llama_fields.hpp"

namespace crammer {

const GemmaFields& gemma_fields(const ModelSpec& s) {
  auto g = std::dynamic_pointer_cast<const GemmaFields>(s.family_fields);
  if (!g) throw ModelLoadError(s.model_type + ": the spec carries no Gemma fields (query_pre_attn_scalar, soft caps)");
  return *g;
}

namespace {

// A soft cap: absent -> the class default, null -> none, else a number > 0.
double read_cap(const ConfigFields& f, const std::string& k, double dflt) {
  if (!f.present(k)) return dflt;
  if (!f.has(k)) return 0;
  const double c = f.number(k, 0);
  if (!(c > 0)) f.fail(k, "must be > 0 or null, got " + std::to_string(c));
  return c;
}

json cap_json(double c) { return c > 0 ? json(c) : json(nullptr); }

}  // namespace

void read_gemma_fields(const ConfigFields& f, ModelSpec& s, GemmaFields& g, double default_attn_cap,
                       double default_final_cap, int64_t pattern) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  if (s.num_layers <= 0 || s.num_layers > kMaxLayers)
    f.fail("num_hidden_layers", "must be in 1.." + std::to_string(kMaxLayers) + ", got " + std::to_string(s.num_layers));
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = f.integer("num_key_value_heads", 4);  // Gemma2Config / Gemma3TextConfig's default
  s.head_dim = f.integer("head_dim", 256);
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("rms_norm_eps", 1e-6);
  // Gemma's field; a stray hidden_act (old Gemma-2 configs carry both) is not what transformers uses.
  s.hidden_act = f.string("hidden_activation", "gelu_pytorch_tanh");
  check_activation(f, "hidden_activation", s.hidden_act);
  g.attention_bias = f.boolean("attention_bias", false);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  if (f.boolean("use_bidirectional_attention", false))
    f.fail("use_bidirectional_attention", "true (bidirectional Gemma encoders) is not a causal LM; crammer needs false");
  g.query_pre_attn_scalar = f.integer("query_pre_attn_scalar", 256);
  if (g.query_pre_attn_scalar <= 0)
    f.fail("query_pre_attn_scalar", "must be > 0, got " + std::to_string(g.query_pre_attn_scalar));
  g.attn_logit_softcap = read_cap(f, "attn_logit_softcapping", default_attn_cap);
  g.final_logit_softcap = read_cap(f, "final_logit_softcapping", default_final_cap);
  // transformers' Gemma builds the sliding mask whatever the layers are: a window must be set.
  if (f.present("sliding_window") && !f.has("sliding_window"))
    f.fail("sliding_window", "null; transformers' Gemma needs a window (with every layer full_attention it is unused)");
  const int64_t window = f.integer("sliding_window", 4096);
  if (window <= 0) f.fail("sliding_window", "must be > 0, got " + std::to_string(window));
  g.sliding.assign(size_t(s.num_layers), false);
  if (f.has("layer_types")) {
    g.sliding = read_layer_types(f, s.num_layers);
  } else {
    if (pattern <= 0) f.fail("sliding_window_pattern", "must be > 0, got " + std::to_string(pattern));
    for (int64_t i = 0; i < s.num_layers; ++i) g.sliding[size_t(i)] = (i + 1) % pattern != 0;
  }
  set_gemma_windows(s, g, window);
}

void set_gemma_windows(ModelSpec& s, const GemmaFields& g, int64_t window) {
  s.layer_windows.clear();
  if (window <= 0 || std::find(g.sliding.begin(), g.sliding.end(), true) == g.sliding.end()) return;
  for (bool slides : g.sliding) s.layer_windows.push_back(slides ? window : 0);
}

void write_gemma_fields(const ModelSpec& s, const GemmaFields& g, json& j) {
  write_llama_sizes(s, j);
  j["hidden_activation"] = s.hidden_act;
  j["attention_bias"] = g.attention_bias;
  j["query_pre_attn_scalar"] = g.query_pre_attn_scalar;
  j["attn_logit_softcapping"] = cap_json(g.attn_logit_softcap);
  j["final_logit_softcapping"] = cap_json(g.final_logit_softcap);
  // Gemma's layer_types always (sliding or not per layer) with the one window they share.
  // Set even when no layer slides: transformers' Gemma builds the sliding mask regardless.
  const int64_t window = shared_sliding_window(s);
  j["sliding_window"] = window > 0 ? window : s.max_position_embeddings;
  json types = json::array();
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const bool slides = size_t(i) < g.sliding.size() && g.sliding[size_t(i)];
    types.push_back(slides ? "sliding_attention" : "full_attention");
  }
  j["layer_types"] = types;
}

void gemma_make_defaults(const MakeModelOptions& o, ModelSpec& s, GemmaFields& g, int64_t pattern) {
  llama_make_defaults(o, s);
  s.hidden_act = "gelu_pytorch_tanh";
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(true);
  s.norm_eps = 1e-6;
  g.query_pre_attn_scalar = s.head_dim;
  g.sliding.assign(size_t(s.num_layers), false);
  if (o.sliding_window > 0)  // else every layer full (a sliding layer needs a window)
    for (int64_t i = 0; i < s.num_layers; ++i) g.sliding[size_t(i)] = (i + 1) % pattern != 0;
  set_gemma_windows(s, g, o.sliding_window);
}

}  // namespace crammer
