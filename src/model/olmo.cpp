// OLMo (transformers' OlmoConfig, e.g. OLMo-1B-0724-hf, the paper's OLMo): the Llama-style
// decoder with LayerNorm without parameters (in f32, eps 1e-5) in place of RMSNorm, optional
// clip_qkv (q, k, v projections clamped), optional q/k/v/o biases, no MLP biases.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "family_fields.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "olmo");
  s.norm_eps = 1e-5;  // OlmoLayerNorm's, fixed
  auto& c = own_fields<LlamaStyleFields>(s);
  c.attention_bias = f.boolean("attention_bias", false);
  c.clip_qkv = f.number("clip_qkv", 0);
  if (f.has("clip_qkv") && c.clip_qkv <= 0) f.fail("clip_qkv", "must be > 0 or null, got " + std::to_string(c.clip_qkv));
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  j.erase("rms_norm_eps");
  const auto& c = fields_of<LlamaStyleFields>(s);
  j["attention_bias"] = c.attention_bias;
  j["clip_qkv"] = c.clip_qkv > 0 ? json(c.clip_qkv) : json(nullptr);
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  llama_make_defaults(o, s);
  own_fields<LlamaStyleFields>(s).clip_qkv = o.clip_qkv;
}

LlamaStyle style() {
  LlamaStyle st;
  st.parameterless_layer_norm = true;
  return st;
}

}  // namespace

const Family& olmo_family() {
  static const Family family = llama_style_family("olmo", "OlmoForCausalLM", read_config, write_config, make_defaults,
                                                     style(), {"clip-qkv"});
  return family;
}

}  // namespace crammer
