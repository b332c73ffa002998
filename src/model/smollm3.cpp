// SmolLM3 (transformers' SmolLM3Config): the Llama-style decoder in which every
// no_rope_layer_interval-th layer (default 4th) has no rotary ("NoPE": no_rope_layers[i] == 0),
// optional q/k/v/o and MLP biases, a tied head by default, and sliding windows on the NoPE
// layers when use_sliding_window (or as layer_types says).
#include "family.hpp"
#include "llama_decoder.hpp"
#include "family_fields.hpp"
#include "llama_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  read_llama_fields(f, s, "smollm3", /*default_kv_heads=*/4);  // SmolLM3Config's defaults
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  auto& c = own_fields<LlamaStyleFields>(s);
  c.attention_bias = f.boolean("attention_bias", false);
  c.mlp_bias = f.boolean("mlp_bias", false);
  c.nope_layers.assign(size_t(std::max<int64_t>(s.num_layers, 0)), false);
  if (f.has("no_rope_layers")) {
    const json& v = f.raw("no_rope_layers");
    if (!v.is_array() || int64_t(v.size()) != s.num_layers)
      f.fail("no_rope_layers", "expected a list of " + std::to_string(s.num_layers) + " 0/1 flags, got " + v.dump());
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] != 0 && v[i] != 1) f.fail("no_rope_layers", "entry " + std::to_string(i) + " is " + v[i].dump() + "; expected 0 or 1");
      c.nope_layers[i] = v[i] == 0;  // 1 = this layer uses rotary
    }
  } else {
    const int64_t interval = f.integer("no_rope_layer_interval", 4);
    if (interval <= 0) f.fail("no_rope_layer_interval", "must be > 0, got " + std::to_string(interval));
    for (int64_t i = 0; i < s.num_layers; ++i) c.nope_layers[size_t(i)] = (i + 1) % interval == 0;
  }
  if (f.has("layer_types")) {
    read_sliding_windows(f, s, "use_sliding_window", 0, /*default_window=*/0);
  } else if (f.boolean("use_sliding_window", false) && f.has("sliding_window")) {
    const int64_t window = f.integer("sliding_window");
    if (window <= 0) f.fail("sliding_window", "must be > 0 or null, got " + std::to_string(window));
    for (bool nope : c.nope_layers) s.layer_windows.push_back(nope ? window : 0);
  }
}

void write_config(const ModelSpec& s, json& j) {
  write_llama_fields(s, j);
  const auto& c = fields_of<LlamaStyleFields>(s);
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = c.mlp_bias;
  json flags = json::array();
  for (int64_t i = 0; i < s.num_layers; ++i)
    flags.push_back(size_t(i) < c.nope_layers.size() && c.nope_layers[size_t(i)] ? 0 : 1);
  j["no_rope_layers"] = flags;
  write_qwen_windows(s, j);  // the same four fields, read by layer_types first
}

// make-model: every 4th layer NoPE as SmolLM3-3B, tied head unless told otherwise;
// --sliding-window on the NoPE layers, as SmolLM3Config's use_sliding_window.
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  llama_make_defaults(o, s);
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(true);
  auto& c = own_fields<LlamaStyleFields>(s);
  c.nope_layers.clear();
  for (int64_t i = 0; i < s.num_layers; ++i) c.nope_layers.push_back((i + 1) % 4 == 0);
  s.layer_windows.clear();
  if (o.sliding_window > 0)
    for (bool nope : c.nope_layers) s.layer_windows.push_back(nope ? o.sliding_window : 0);
}

}  // namespace

const Family& smollm3_family() {
  static const Family family = llama_style_family("smollm3", "SmolLM3ForCausalLM", read_config, write_config, make_defaults,
                                                     LlamaStyle{}, {"sliding-window"});
  return family;
}

}  // namespace crammer
