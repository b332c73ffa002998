// Phi-3 (transformers' Phi3Config: Phi-3/3.5-mini, Phi-3-medium, Phi-4-mini): the Llama-style
// decoder with fused weights (one qkv_proj split q | k | v, one gate_up_proj split gate | up),
// no biases, optional partial rotary (Phi-4-mini: 3/4 of head_dim), longrope scaling (short or
// long per-frequency factors, cos and sin scaled by attention_factor) and one optional
// sliding_window for every layer (Phi-3-mini-4k: 2047).
#include "family.hpp"
#include "llama_decoder.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& given, ModelSpec& s) {
  // Phi3Config's own attribute (default 4096) is longrope's pretraining length, even where the
  // rope object names another (transformers 5.17 overwrites it).
  json j = given.all();
  if (!j.contains("original_max_position_embeddings")) j["original_max_position_embeddings"] = 4096;
  const ConfigFields f(j, given.file());
  read_llama_fields(f, s, "phi3", /*default_kv_heads=*/0, /*partial_rotary=*/true);
  s.norm_eps = f.number("rms_norm_eps", 1e-5);  // Phi3Config's default
  read_sliding_windows(f, s, "", 0, /*default_window=*/0);  // Phi3Config's default: none
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  write_single_window(s, j);
  // transformers takes the pretraining length from this top-level field (default 4096), not
  // from the rope object.
  j["original_max_position_embeddings"] =
      s.rope_scaling && s.rope_scaling->rope_type == "longrope" ? s.rope_scaling->original_max_position_embeddings
                                                                 : s.max_position_embeddings;
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  llama_make_defaults(o, s);
  apply_sliding_window_option(o, s);
}

LlamaStyle style() {
  LlamaStyle st;
  st.fused_projections = true;
  return st;
}

}  // namespace

const Family& phi3_family() {
  static const Family family = llama_style_family("phi3", "Phi3ForCausalLM", read_config, write_config, make_defaults,
                                                     style(), {"sliding-window"});
  return family;
}

}  // namespace crammer
