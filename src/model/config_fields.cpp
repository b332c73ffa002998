#include "config_fields.hpp"

namespace crammer {

void check_activation(const ConfigFields& f, const std::string& field, const std::string& act) {
  static const std::vector<std::string> known = {"gelu", "gelu_new", "gelu_pytorch_tanh",
                                                 "gelu_fast", "relu", "silu", "swish"};
  for (const auto& a : known)
    if (a == act) return;
  std::string list;
  for (const auto& a : known) list += (list.empty() ? "" : ", ") + a;
  f.fail(field, "unsupported activation '" + act + "' (supported: " + list + ")");
}

// Rotary settings in either spelling: transformers >= 5 writes one "rope_parameters" object
// (rope_type, rope_theta, partial_rotary_factor and the scaling fields); older configs have
// top-level rope_theta (gpt_neox: rotary_emb_base, rotary_pct | partial_rotary_factor) and an
// optional "rope_scaling" object.
void read_rope(const ConfigFields& f, ModelSpec& s, bool neox) {
  const double default_pct = neox ? 0.25 : 1.0;
  std::optional<ConfigFields> scaling;
  if (f.has("rope_parameters")) {
    const json& r = f.raw("rope_parameters");
    if (!r.is_object()) f.fail("rope_parameters", "expected an object, got " + r.dump());
    scaling.emplace(r, f.file() + ": rope_parameters");
    s.rope_theta = scaling->number("rope_theta", 10000.0);
    s.rotary_pct = scaling->number("partial_rotary_factor",
                                   f.number("partial_rotary_factor", default_pct));
  } else {
    if (neox) {
      s.rope_theta = f.has("rope_theta") ? f.number("rope_theta", 10000.0)
                                         : f.number("rotary_emb_base", 10000.0);
      s.rotary_pct = f.has("partial_rotary_factor") ? f.number("partial_rotary_factor", 0.25)
                                                    : f.number("rotary_pct", 0.25);
    } else {
      s.rope_theta = f.number("rope_theta", 10000.0);
      s.rotary_pct = f.number("partial_rotary_factor", 1.0);
    }
    if (f.has("rope_scaling")) {
      const json& r = f.raw("rope_scaling");
      if (!r.is_object()) f.fail("rope_scaling", "expected an object, got " + r.dump());
      scaling.emplace(r, f.file() + ": rope_scaling");
    }
  }
  if (!scaling) return;
  // Errors inside the object name it: "config.json: rope_scaling: field 'factor': ...".
  const ConfigFields& rf = *scaling;
  std::string type = rf.has("rope_type") ? rf.string("rope_type", "") : rf.string("type", "");
  if (type.empty() || type == "default") return;
  auto num = [&](const std::string& k) {
    if (!rf.has(k)) rf.fail(k, "missing (expected a number)");
    return rf.number(k, 0.0);
  };
  RopeScaling rs;
  rs.rope_type = type;
  if (type == "linear") {
    rs.factor = num("factor");
    if (rs.factor <= 0) rf.fail("factor", "must be > 0, got " + std::to_string(rs.factor));
  } else if (type == "llama3") {
    rs.factor = num("factor");
    rs.low_freq_factor = num("low_freq_factor");
    rs.high_freq_factor = num("high_freq_factor");
    rs.original_max_position_embeddings = rf.integer("original_max_position_embeddings");
    if (rs.high_freq_factor <= rs.low_freq_factor)
      rf.fail("high_freq_factor", "must be > low_freq_factor (" +
                                      std::to_string(rs.high_freq_factor) + " <= " +
                                      std::to_string(rs.low_freq_factor) + ")");
  } else {
    rf.fail("rope_type", "'" + type + "' is not supported (supported: default, linear, llama3)");
  }
  s.rope_scaling = rs;
}

json rope_scaling_json(const std::optional<RopeScaling>& scaling) {
  if (!scaling) return nullptr;
  const RopeScaling& r = *scaling;
  json j = {{"rope_type", r.rope_type}, {"factor", r.factor}};
  if (r.rope_type == "llama3") {
    j["low_freq_factor"] = r.low_freq_factor;
    j["high_freq_factor"] = r.high_freq_factor;
    j["original_max_position_embeddings"] = r.original_max_position_embeddings;
  }
  return j;
}


}  // namespace crammer
