// One config.json being read, for the model families: typed field access whose errors name the
// file and the field, and the pieces several families share (activations, rotary settings, the
// rope_scaling object they write). Internal to the model layer.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crammer/model/hf_config.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

using nlohmann::json;

// One config.json being read: every error names the file and the field.
class ConfigFields {
 public:
  ConfigFields(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw ModelLoadError(file_ + ": field '" + field + "': " + what);
  }
  bool has(const std::string& k) const { return j_.contains(k) && !j_.at(k).is_null(); }
  bool present(const std::string& k) const { return j_.contains(k); }  // null included

  int64_t integer(const std::string& k) const {
    if (!has(k)) fail(k, "missing (expected an integer)");
    return as_int(k, j_.at(k));
  }
  int64_t integer(const std::string& k, int64_t dflt) const {
    return has(k) ? as_int(k, j_.at(k)) : dflt;
  }
  double number(const std::string& k, double dflt) const {
    if (!has(k)) return dflt;
    const json& v = j_.at(k);
    if (!v.is_number()) fail(k, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& k, bool dflt) const {
    if (!has(k)) return dflt;
    const json& v = j_.at(k);
    if (!v.is_boolean()) fail(k, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& k, const std::string& dflt) const {
    if (!has(k)) return dflt;
    const json& v = j_.at(k);
    if (!v.is_string()) fail(k, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  // bos/eos ids: an integer, or a list of them (Llama-3 lists several eos ids; the first is kept).
  std::optional<int64_t> token_id(const std::string& k) const {
    if (!has(k)) return std::nullopt;
    const json& v = j_.at(k);
    if (v.is_array()) {
      if (v.empty()) return std::nullopt;
      return as_int(k, v.at(0));
    }
    return as_int(k, v);
  }
  const json& raw(const std::string& k) const { return j_.at(k); }
  const json& all() const { return j_; }
  const std::string& file() const { return file_; }

 private:
  int64_t as_int(const std::string& k, const json& v) const {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
      fail(k, "expected an integer below 2^63, got " + v.dump());
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      // 2^63 itself does not fit: the cast of anything outside [-2^63, 2^63) is undefined.
      if (d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return static_cast<int64_t>(d);
    }
    fail(k, "expected an integer, got " + v.dump());
  }
  const json& j_;
  std::string file_;
};

// Refuses an activation crammer does not implement, naming the field.
void check_activation(const ConfigFields& f, const std::string& field, const std::string& act);

// rope_theta, the rotated fraction and rope scaling, in either spelling (see config_fields.cpp).
void read_rope(const ConfigFields& f, ModelSpec& s, bool neox);
// The scaling in one rope object rf (rope_parameters, rope_scaling or one layer type's entry)
// of config f: none for a missing or "default" type; linear, llama3 or longrope (sized by s's
// head_dim and rotary_pct); any other type is refused naming the field.
std::optional<RopeScaling> read_rope_scaling(const ConfigFields& f, const ConfigFields& rf, const ModelSpec& s);

// config.json's `layer_types` (present): true for each "sliding_attention" layer; a list of
// another length or another entry than "full_attention" is refused naming the field.
std::vector<bool> read_layer_types(const ConfigFields& f, int64_t num_layers);

// Sliding windows, transformers' way: `layer_types` ("full_attention" | "sliding_attention" per
// layer) when given; otherwise layers from `first_sliding` on slide when `sliding_window` is set
// (`enabled_field`, e.g. use_sliding_window, must then be true when named). `sliding_window`
// absent means `default_window` (the config class's default), null means none. Fills
// s.layer_windows (s.num_layers must be set); every layer full gives an empty list.
void read_sliding_windows(const ConfigFields& f, ModelSpec& s, const std::string& enabled_field,
                          int64_t first_sliding, int64_t default_window);

// The legacy "rope_scaling" object, which transformers 4.x and 5.x both read (null when unset).
json rope_scaling_json(const std::optional<RopeScaling>& scaling);

}  // namespace crammer
