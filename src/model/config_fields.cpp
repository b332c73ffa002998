#include "config_fields.hpp"

#include <algorithm>
#include <vector>

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
namespace {

// longrope (transformers' _compute_longrope_parameters): the pretraining length from the
// top-level field (phi3 keeps it there), else from the rope object, else max_position_embeddings;
// attention_factor, when absent, sqrt(1 + ln(factor) / ln(original)) with factor = max /
// original unless given.
void read_longrope(const ConfigFields& f, const ConfigFields& rf, const ModelSpec& s, RopeScaling& rs) {
  const std::string key = "original_max_position_embeddings";
  rs.original_max_position_embeddings =
      f.has(key) ? f.integer(key) : rf.integer(key, s.max_position_embeddings);
  if (rs.original_max_position_embeddings <= 0)
    rf.fail(key, "must be > 0, got " + std::to_string(rs.original_max_position_embeddings));
  const double original = double(rs.original_max_position_embeddings);
  rs.factor = rf.number("factor", double(s.max_position_embeddings) / original);
  if (rf.has("attention_factor")) {
    rs.attention_factor = rf.number("attention_factor", 1.0);
  } else {
    rs.attention_factor = rs.factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(rs.factor) / std::log(original));
  }
  // Sized by the rotated dims; the sizes are validated later, so bound them before the cast.
  if (!(s.rotary_pct > 0 && s.rotary_pct <= 1) || s.head_dim <= 0 || s.head_dim > (int64_t(1) << 20))
    rf.fail("rope_type", "longrope needs head_dim in 1..2^20 and partial_rotary_factor in (0, 1], got " +
                             std::to_string(s.head_dim) + " and " + std::to_string(s.rotary_pct));
  const int64_t half = int64_t(double(s.head_dim) * s.rotary_pct) / 2;
  auto factors = [&](const std::string& k) {
    if (!rf.has(k)) rf.fail(k, "missing (expected a list of " + std::to_string(half) + " numbers)");
    const json& v = rf.raw(k);
    if (!v.is_array() || int64_t(v.size()) != half)
      rf.fail(k, "expected a list of " + std::to_string(half) + " numbers (rotary dims / 2), got " +
                     (v.is_array() ? std::to_string(v.size()) + " entries" : v.dump()));
    std::vector<double> out;
    for (const json& x : v) {
      if (!x.is_number() || x.get<double>() <= 0) rf.fail(k, "entries must be numbers > 0, got " + x.dump());
      out.push_back(x.get<double>());
    }
    return out;
  };
  rs.short_factor = factors("short_factor");
  rs.long_factor = factors("long_factor");
}

}  // namespace

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
  if (scaling) s.rope_scaling = read_rope_scaling(f, *scaling, s);
}

std::optional<RopeScaling> read_rope_scaling(const ConfigFields& f, const ConfigFields& rf, const ModelSpec& s) {
  // Errors inside the object name it: "config.json: rope_scaling: field 'factor': ...".
  std::string type = rf.has("rope_type") ? rf.string("rope_type", "") : rf.string("type", "");
  if (type.empty() || type == "default") return std::nullopt;
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
  } else if (type == "longrope") {
    read_longrope(f, rf, s, rs);
  } else {
    rf.fail("rope_type", "'" + type + "' is not supported (supported: default, linear, llama3, longrope)");
  }
  return rs;
}

json rope_scaling_json(const std::optional<RopeScaling>& scaling) {
  if (!scaling) return nullptr;
  const RopeScaling& r = *scaling;
  json j = {{"rope_type", r.rope_type}, {"factor", r.factor}};
  if (r.rope_type == "longrope") {
    j["short_factor"] = r.short_factor;
    j["long_factor"] = r.long_factor;
    j["attention_factor"] = r.attention_factor;
    j["original_max_position_embeddings"] = r.original_max_position_embeddings;
  }
  if (r.rope_type == "llama3") {
    j["low_freq_factor"] = r.low_freq_factor;
    j["high_freq_factor"] = r.high_freq_factor;
    j["original_max_position_embeddings"] = r.original_max_position_embeddings;
  }
  return j;
}


std::vector<bool> read_layer_types(const ConfigFields& f, int64_t num_layers) {
  const json& types = f.raw("layer_types");
  if (!types.is_array() || int64_t(types.size()) != num_layers)
    f.fail("layer_types", "expected a list of " + std::to_string(num_layers) + " layer types, got " + types.dump());
  std::vector<bool> sliding(types.size(), false);
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == "sliding_attention") {
      sliding[i] = true;
    } else if (types[i] != "full_attention") {
      f.fail("layer_types", "entry " + std::to_string(i) + " is " + types[i].dump() +
                                "; expected \"full_attention\" or \"sliding_attention\"");
    }
  }
  return sliding;
}

void read_sliding_windows(const ConfigFields& f, ModelSpec& s, const std::string& enabled_field,
                          int64_t first_sliding, int64_t default_window) {
  s.layer_windows.clear();
  const bool enabled = enabled_field.empty() || f.boolean(enabled_field, false);
  int64_t window = 0;
  if (enabled) window = f.present("sliding_window") ? f.integer("sliding_window", 0) : default_window;
  if (enabled && f.has("sliding_window") && window <= 0)
    f.fail("sliding_window", "must be > 0 or null, got " + std::to_string(window));
  std::vector<bool> sliding(static_cast<size_t>(std::max<int64_t>(s.num_layers, 0)), false);
  if (f.has("layer_types")) {
    sliding = read_layer_types(f, s.num_layers);
    // transformers drops the window when use_sliding_window is false, whatever layer_types says.
    if (window == 0) std::fill(sliding.begin(), sliding.end(), false);
  } else if (window > 0) {
    for (int64_t i = std::max<int64_t>(first_sliding, 0); i < s.num_layers; ++i) sliding[size_t(i)] = true;
  }
  if (std::find(sliding.begin(), sliding.end(), true) == sliding.end()) return;
  for (bool b : sliding) s.layer_windows.push_back(b ? window : 0);
}

}  // namespace crammer
