// Gemma-3 text models (transformers' Gemma3TextConfig, model_type gemma3_text, e.g.
// gemma-3-1b-pt): the Gemma decoder with (1 + w) RMSNorm of each q and k head before rotary,
// five sliding layers (window sliding_window) to one full (sliding_window_pattern 6), and two
// rotary bases: rope_theta (1e6) with rope_scaling on full layers, rope_local_base_freq (1e4) on
// sliding ones (transformers 5 spells both as rope_parameters.{full,sliding}_attention). No soft
// caps by default; attn_logit_softcapping is read but, as in transformers, never applied.
// The multimodal gemma3 (Gemma3ForConditionalGeneration) is not this family.
#include "family.hpp"
#include "gemma_decoder.hpp"
#include "gemma_fields.hpp"

namespace crammer {
namespace {

// One layer type's entry of transformers 5's nested rope_parameters (absent: the default).
void read_layer_rope(const ConfigFields& f, const ModelSpec& s, const std::string& type, double default_theta,
                     double& theta, std::optional<RopeScaling>& scaling) {
  const json& all = f.raw("rope_parameters");
  theta = default_theta;
  scaling.reset();
  if (!all.contains(type) || all.at(type).is_null()) return;
  const json& r = all.at(type);
  if (!r.is_object()) f.fail("rope_parameters", "entry '" + type + "': expected an object, got " + r.dump());
  ConfigFields rf(r, f.file() + ": rope_parameters." + type);
  theta = rf.number("rope_theta", default_theta);
  scaling = read_rope_scaling(f, rf, s);
}

void read_config(const ConfigFields& f, ModelSpec& s) {
  auto g = std::make_shared<GemmaFields>();
  read_gemma_fields(f, s, *g, /*default_attn_cap=*/0, /*default_final_cap=*/0,
                    f.integer("sliding_window_pattern", 6));
  g->attn_logit_softcap = 0;  // Gemma3Attention does not pass it to the attention
  g->qk_norm = true;
  g->local_rope = true;
  if (f.has("rope_parameters")) {
    const json& r = f.raw("rope_parameters");
    if (!r.is_object() || r.contains("rope_type") || r.contains("rope_theta"))
      f.fail("rope_parameters", "expected {\"full_attention\": {...}, \"sliding_attention\": {...}} for gemma3_text, got " + r.dump());
    for (const auto& [key, value] : r.items())
      if (key != "full_attention" && key != "sliding_attention")
        f.fail("rope_parameters", "unknown layer type '" + key + "' (expected full_attention, sliding_attention)");
    read_layer_rope(f, s, "full_attention", 1e6, s.rope_theta, s.rope_scaling);
    read_layer_rope(f, s, "sliding_attention", 1e4, g->local_rope_theta, g->local_rope_scaling);
  } else {
    s.rope_theta = f.number("rope_theta", 1e6);
    g->local_rope_theta = f.number("rope_local_base_freq", 1e4);
    if (f.has("rope_scaling")) {
      const json& r = f.raw("rope_scaling");
      if (!r.is_object()) f.fail("rope_scaling", "expected an object, got " + r.dump());
      s.rope_scaling = read_rope_scaling(f, ConfigFields(r, f.file() + ": rope_scaling"), s);
    }
  }
  s.family_fields = g;
}

void write_config(const ModelSpec& s, json& j) {
  const GemmaFields& g = gemma_fields(s);
  write_gemma_fields(s, g, j);
  if (!g.local_rope_scaling) {  // the spelling transformers 4.x and 5.x both read
    j["rope_theta"] = s.rope_theta;
    j["rope_local_base_freq"] = g.local_rope_theta;
    j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
    return;
  }
  auto entry = [](double theta, const std::optional<RopeScaling>& scaling) {
    json e = scaling ? rope_scaling_json(scaling) : json{{"rope_type", "default"}};
    e["rope_theta"] = theta;
    return e;
  };
  j["rope_parameters"] = {{"full_attention", entry(s.rope_theta, s.rope_scaling)},
                          {"sliding_attention", entry(g.local_rope_theta, g.local_rope_scaling)}};
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  auto g = std::make_shared<GemmaFields>();
  gemma_make_defaults(o, s, *g, /*pattern=*/6);
  g->qk_norm = true;
  g->local_rope = true;
  g->local_rope_theta = 10000.0;
  s.family_fields = g;
}

}  // namespace

const Family& gemma3_text_family() {
  static const Family family =
      gemma_style_family("gemma3_text", "Gemma3ForCausalLM", read_config, write_config, make_defaults);
  return family;
}

}  // namespace crammer
