// Llama 2 / 3.x (transformers' LlamaConfig): rope_theta and optional linear or llama3
// rope_scaling, grouped-query attention (num_key_value_heads), explicit head_dim,
// optional attention_bias / mlp_bias, tied or untied lm_head. The network is the shared
// Llama-style decoder (llama_decoder.cpp).
// Not: other rope_scaling types (refused by config), tensor-parallel slicing.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "family_fields.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

// config.json: the shared Llama-style fields plus this family's biases.
void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "llama");
  auto& c = own_fields<LlamaStyleFields>(s);
  c.attention_bias = f.boolean("attention_bias", false);
  c.mlp_bias = f.boolean("mlp_bias", false);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  const auto& c = fields_of<LlamaStyleFields>(s);
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = c.mlp_bias;
}

// make-model: the Llama-style defaults and the optional Llama-3.1 rope scaling.
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  llama_make_defaults(o, s);
  if (!o.llama3_rope_scaling) return;
  RopeScaling r;  // Llama-3.1's: factor 8, low / high frequency factors 1 / 4, pretrained on 8192
  r.rope_type = "llama3";
  r.factor = 8.0;
  s.rope_scaling = r;
}

}  // namespace

const Family& llama_family() {
  static const Family family = llama_style_family("llama", "LlamaForCausalLM", read_config, write_config, make_defaults,
                                                     LlamaStyle{}, {"llama3-rope-scaling"});
  return family;
}

}  // namespace crammer
