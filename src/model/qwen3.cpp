// Qwen3 (transformers' Qwen3Config): the Llama-style decoder with an RMSNorm over head_dim on
// every query and key head before rotary (q_norm, k_norm), optional attention_bias (q, k, v
// and output), head_dim 128 unless config.json says otherwise, and Qwen2's sliding windows.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "family_fields.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "qwen3", /*default_kv_heads=*/32);  // Qwen3Config's default
  s.head_dim = f.integer("head_dim", 128);
  own_fields<LlamaStyleFields>(s).attention_bias = f.boolean("attention_bias", false);
  read_qwen_windows(f, s, /*default_first=*/28);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  j["attention_bias"] = fields_of<LlamaStyleFields>(s).attention_bias;
  write_qwen_windows(s, j);
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  llama_make_defaults(o, s);
  apply_sliding_window_option(o, s);
}

LlamaStyle style() {
  LlamaStyle st;
  st.qk_norm = true;
  return st;
}

}  // namespace

const Family& qwen3_family() {
  static const Family family = llama_style_family("qwen3", "Qwen3ForCausalLM", read_config, write_config, make_defaults,
                                                     style(), {"sliding-window"});
  return family;
}

}  // namespace crammer
