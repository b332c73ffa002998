// Qwen2 / Qwen2.5 (transformers' Qwen2Config): the Llama-style decoder with biases on q, k and
// v but not on the output projection, and sliding windows on the layers from max_window_layers
// on when use_sliding_window (or as layer_types says). Tokens more than sliding_window - 1
// positions after the [mem] vectors do not see them in those layers.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "qwen2", /*default_kv_heads=*/32);  // Qwen2Config's default
  read_qwen_windows(f, s, /*default_first=*/28);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  write_qwen_windows(s, j);
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  llama_make_defaults(o, s);
  apply_sliding_window_option(o, s);
}

LlamaStyle style() {
  LlamaStyle st;
  st.qkv_bias = true;
  return st;
}

}  // namespace

const Family& qwen2_family() {
  static const Family family = llama_style_family("qwen2", "Qwen2ForCausalLM", read_config, write_config, make_defaults,
                                                     style(), {"sliding-window"});
  return family;
}

}  // namespace crammer
