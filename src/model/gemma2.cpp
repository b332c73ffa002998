// Gemma-2 (transformers' Gemma2Config, e.g. gemma-2-2b): the Gemma decoder with soft caps on the
// attention scores (attn_logit_softcapping, 50) and the logits (final_logit_softcapping, 30),
// even layers sliding (window 4096) and odd layers full, one rotary base, no q/k norms.
// transformers 5 scales token embeddings inside the embedding module, so [mem] vectors are not
// scaled by sqrt(d) (transformers 4.x scaled inputs_embeds, [mem] included: docs/models.md).
#include "family.hpp"
#include "gemma_decoder.hpp"
#include "gemma_fields.hpp"

namespace crammer {
namespace {

void read_config(const ConfigFields& f, ModelSpec& s) {
  auto g = std::make_shared<GemmaFields>();
  read_gemma_fields(f, s, *g, /*default_attn_cap=*/50.0, /*default_final_cap=*/30.0, /*pattern=*/2);
  read_rope(f, s, /*neox=*/false);
  if (s.rotary_pct != 1.0) f.fail("partial_rotary_factor", "only 1.0 (the whole head rotated) is supported for gemma2");
  s.family_fields = g;
}

void write_config(const ModelSpec& s, json& j) {
  write_gemma_fields(s, gemma_fields(s), j);
  j["rope_theta"] = s.rope_theta;
  j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  auto g = std::make_shared<GemmaFields>();
  gemma_make_defaults(o, s, *g, /*pattern=*/2);
  g->attn_logit_softcap = 50.0;  // Gemma2Config's defaults, as gemma-2 models ship
  g->final_logit_softcap = 30.0;
  s.family_fields = g;
}

}  // namespace

const Family& gemma2_family() {
  static const Family family = gemma_style_family("gemma2", "Gemma2ForCausalLM", read_config, write_config, make_defaults);
  return family;
}

}  // namespace crammer
