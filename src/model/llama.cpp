// Llama 2 / 3.x (transformers' LlamaConfig): rope_theta and optional linear or llama3
// rope_scaling, grouped-query attention (num_key_value_heads), explicit head_dim,
// optional attention_bias / mlp_bias, tied or untied lm_head. The network is the shared
// Llama-style decoder (llama_decoder.cpp).
// Not: other rope_scaling types (refused by config), tensor-parallel slicing.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

// config.json: the shared Llama-style fields plus this family's biases.
void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "llama");
  s.attention_bias = f.boolean("attention_bias", false);
  s.mlp_bias = f.boolean("mlp_bias", false);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  j["attention_bias"] = s.attention_bias;
  j["mlp_bias"] = s.mlp_bias;
}

// make-model: the Llama-style defaults and the optional Llama-3.1 rope scaling.
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  llama_make_defaults(o, s);
  if (o.llama3_rope_scaling) s.rope_scaling = RopeScaling{"llama3", 8.0, 1.0, 4.0, 8192};
}

}  // namespace

const Family& llama_family() {
  static const Family family = llama_style_family("llama", "LlamaForCausalLM", read_config, write_config, make_defaults);
  return family;
}

}  // namespace crammer
