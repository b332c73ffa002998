// Mistral (transformers' MistralConfig): the Llama-style decoder without biases, with one
// sliding_window for every layer (Mistral-7B-v0.1: 4096) or null (v0.2 on: full attention).
// Tokens more than sliding_window - 1 positions after the [mem] vectors no longer see them.
#include "family.hpp"
#include "llama_decoder.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  // MistralConfig's defaults: 8 kv heads, sliding_window 4096 (absent) or none (null).
  read_llama_fields(f, s, "mistral", /*default_kv_heads=*/8);
  read_sliding_windows(f, s, "", 0, /*default_window=*/4096);
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  write_single_window(s, j);
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  llama_make_defaults(o, s);
  apply_sliding_window_option(o, s);
}

}  // namespace

const Family& mistral_family() {
  static const Family family = llama_style_family("mistral", "MistralForCausalLM", read_config, write_config, make_defaults,
                                                     LlamaStyle{}, {"sliding-window"});
  return family;
}

}  // namespace crammer
