// OLMo-2 (transformers' Olmo2Config, e.g. OLMo-2-1124-7B): the Llama-style decoder with its
// norms moved after the blocks (x + norm(attn(x)), x + norm(mlp(x)); no input norms), RMSNorm
// of the whole q and k projections (all heads at once) before rotary, RMSNorm gains applied in
// f32, optional q/k/v/o biases.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "family_fields.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "olmo2");
  s.norm_eps = f.number("rms_norm_eps", 1e-5);  // Olmo2Config's default
  own_fields<LlamaStyleFields>(s).attention_bias = f.boolean("attention_bias", false);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  j["attention_bias"] = fields_of<LlamaStyleFields>(s).attention_bias;
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  llama_make_defaults(o, s);
}

LlamaStyle style() {
  LlamaStyle st;
  st.qk_norm_whole = st.norms_after_blocks = st.rms_norm_gain_in_f32 = true;
  return st;
}

}  // namespace

const Family& olmo2_family() {
  static const Family family = llama_style_family("olmo2", "Olmo2ForCausalLM", read_config, write_config, make_defaults, style());
  return family;
}

}  // namespace crammer
