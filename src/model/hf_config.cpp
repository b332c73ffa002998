// Reads and writes a Hugging Face config.json with the field names transformers uses for each
// model_type (gpt2, gpt_neox, llama). Not a general PretrainedConfig: only what crammer's model
// implementations use; options that would change the maths and that crammer does not implement
// are refused rather than silently ignored.
#include "crammer/model/hf_config.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <cstdint>

#include <nlohmann/json.hpp>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

using nlohmann::json;

// One config.json being read: every error names the file and the field.
class Fields {
 public:
  Fields(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw ModelLoadError(file_ + ": field '" + field + "': " + what);
  }
  bool has(const std::string& k) const { return j_.contains(k) && !j_.at(k).is_null(); }

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

void check_activation(const Fields& f, const std::string& field, const std::string& act) {
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
void read_rope(const Fields& f, ModelSpec& s, bool neox) {
  const double default_pct = neox ? 0.25 : 1.0;
  std::optional<Fields> scaling;
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
  const Fields& rf = *scaling;
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

void read_gpt2(const Fields& f, ModelSpec& s) {
  s.hidden_size = f.integer("n_embd");
  s.num_layers = f.integer("n_layer");
  s.num_heads = f.integer("n_head");
  s.num_kv_heads = s.num_heads;
  s.max_position_embeddings = f.integer("n_positions");
  s.intermediate_size = f.integer("n_inner", 4 * s.hidden_size);  // null means 4 * n_embd
  s.norm_eps = f.number("layer_norm_epsilon", 1e-5);
  s.hidden_act = f.string("activation_function", "gelu_new");
  check_activation(f, "activation_function", s.hidden_act);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  if (!f.boolean("scale_attn_weights", true))
    f.fail("scale_attn_weights", "false is not supported (crammer scales by 1/sqrt(head_dim))");
  if (f.boolean("scale_attn_by_inverse_layer_idx", false))
    f.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (s.num_heads > 0) s.head_dim = s.hidden_size / s.num_heads;
}

void read_gpt_neox(const Fields& f, ModelSpec& s) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = s.num_heads;
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("layer_norm_eps", 1e-5);
  s.hidden_act = f.string("hidden_act", "gelu");
  check_activation(f, "hidden_act", s.hidden_act);
  read_rope(f, s, /*neox=*/true);
  s.use_parallel_residual = f.boolean("use_parallel_residual", true);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  s.attention_bias = f.boolean("attention_bias", true);
  if (s.num_heads > 0) s.head_dim = s.hidden_size / s.num_heads;
}

void read_llama(const Fields& f, ModelSpec& s) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = f.integer("num_key_value_heads", s.num_heads);
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("rms_norm_eps", 1e-6);
  s.hidden_act = f.string("hidden_act", "silu");
  check_activation(f, "hidden_act", s.hidden_act);
  read_rope(f, s, /*neox=*/false);
  if (s.rotary_pct != 1.0)
    f.fail("partial_rotary_factor", "only 1.0 (the whole head rotated) is supported for llama");
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  s.attention_bias = f.boolean("attention_bias", false);
  s.mlp_bias = f.boolean("mlp_bias", false);
  s.head_dim = f.integer("head_dim", s.num_heads > 0 ? s.hidden_size / s.num_heads : 0);
}

void validate(const Fields& f, const ModelSpec& s, const std::string& hidden_field,
              const std::string& heads_field) {
  auto positive = [&](const std::string& field, int64_t v) {
    if (v <= 0) f.fail(field, "must be > 0, got " + std::to_string(v));
  };
  positive("vocab_size", s.vocab_size);
  positive(hidden_field, s.hidden_size);
  positive(heads_field, s.num_heads);
  positive("head_dim", s.head_dim);
  positive("intermediate_size", s.intermediate_size);
  positive("max_position_embeddings", s.max_position_embeddings);
  const char* layers_field = s.model_type == "gpt2" ? "n_layer" : "num_hidden_layers";
  if (s.num_layers <= 0) f.fail(layers_field, "must be > 0, got " + std::to_string(s.num_layers));
  bool explicit_head_dim = s.model_type == "llama" && f.has("head_dim");
  if (!explicit_head_dim && s.hidden_size % s.num_heads != 0)
    f.fail(heads_field, hidden_field + " " + std::to_string(s.hidden_size) +
                            " is not divisible by " + std::to_string(s.num_heads) + " heads");
  if (s.num_kv_heads <= 0 || s.num_heads % s.num_kv_heads != 0)
    f.fail("num_key_value_heads", std::to_string(s.num_heads) + " heads are not divisible by " +
                                      std::to_string(s.num_kv_heads) + " key/value heads");
  if (s.model_type != "gpt2") {
    int64_t rot = static_cast<int64_t>(s.head_dim * s.rotary_pct);
    if (s.rotary_pct <= 0 || s.rotary_pct > 1 || rot % 2 != 0 || rot == 0)
      f.fail("rotary_pct", "head_dim " + std::to_string(s.head_dim) + " * " +
                               std::to_string(s.rotary_pct) + " = " + std::to_string(rot) +
                               " rotary dims; must be even and > 0");
  }
}

// The legacy "rope_scaling" object, which transformers 4.x and 5.x both read.
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

}  // namespace

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = {"gpt2", "gpt_neox", "llama"};
  return types;
}

ModelSpec read_model_spec(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/config.json";
  std::string text = read_file<ModelLoadError>(
      path, "model config", " (is '" + checkpoint_dir + "' a Hugging Face checkpoint directory?)");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw ModelLoadError(path + ": malformed JSON: " + e.what());
  }
  if (!j.is_object()) throw ModelLoadError(path + ": expected a JSON object at top level");
  Fields f(j, path);

  ModelSpec s;
  s.model_type = f.string("model_type", "");
  if (s.model_type.empty()) f.fail("model_type", "missing (expected one of gpt2, gpt_neox, llama)");
  s.vocab_size = f.integer("vocab_size");
  s.bos_token_id = f.token_id("bos_token_id");
  s.eos_token_id = f.token_id("eos_token_id");
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  s.torch_dtype = f.has("torch_dtype") ? f.string("torch_dtype", "") : f.string("dtype", "");

  std::string hidden_field = "hidden_size", heads_field = "num_attention_heads";
  if (s.model_type == "gpt2") {
    read_gpt2(f, s);
    hidden_field = "n_embd";
    heads_field = "n_head";
  } else if (s.model_type == "gpt_neox") {
    read_gpt_neox(f, s);
  } else if (s.model_type == "llama") {
    read_llama(f, s);
  } else {
    std::string list;
    for (const auto& t : supported_model_types()) list += (list.empty() ? "" : ", ") + t;
    f.fail("model_type", "unknown model_type '" + s.model_type + "' (supported: " + list + ")");
  }
  validate(f, s, hidden_field, heads_field);
  return s;
}

void write_model_spec(const ModelSpec& s, const std::string& checkpoint_dir) {
  json j;
  j["model_type"] = s.model_type;
  j["vocab_size"] = s.vocab_size;
  j["initializer_range"] = 0.02;
  j["tie_word_embeddings"] = s.tie_word_embeddings;
  // Explicit nulls: transformers would otherwise take its class defaults (GPT-2: 50256).
  j["bos_token_id"] = s.bos_token_id ? json(*s.bos_token_id) : json(nullptr);
  j["eos_token_id"] = s.eos_token_id ? json(*s.eos_token_id) : json(nullptr);
  if (!s.torch_dtype.empty()) j["torch_dtype"] = s.torch_dtype;
  if (s.model_type == "gpt2") {
    j["architectures"] = {"GPT2LMHeadModel"};
    j["n_embd"] = s.hidden_size;
    j["n_layer"] = s.num_layers;
    j["n_head"] = s.num_heads;
    j["n_positions"] = s.max_position_embeddings;
    j["n_ctx"] = s.max_position_embeddings;
    j["n_inner"] = s.intermediate_size;
    j["layer_norm_epsilon"] = s.norm_eps;
    j["activation_function"] = s.hidden_act.empty() ? "gelu_new" : s.hidden_act;
  } else if (s.model_type == "gpt_neox") {
    j["architectures"] = {"GPTNeoXForCausalLM"};
    j["hidden_size"] = s.hidden_size;
    j["num_hidden_layers"] = s.num_layers;
    j["num_attention_heads"] = s.num_heads;
    j["intermediate_size"] = s.intermediate_size;
    j["max_position_embeddings"] = s.max_position_embeddings;
    j["rotary_pct"] = s.rotary_pct;
    j["rotary_emb_base"] = s.rope_theta;
    j["layer_norm_eps"] = s.norm_eps;
    j["use_parallel_residual"] = s.use_parallel_residual;
    j["hidden_act"] = s.hidden_act.empty() ? "gelu" : s.hidden_act;
    j["attention_bias"] = s.attention_bias;
    j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
  } else if (s.model_type == "llama") {
    j["architectures"] = {"LlamaForCausalLM"};
    j["hidden_size"] = s.hidden_size;
    j["num_hidden_layers"] = s.num_layers;
    j["num_attention_heads"] = s.num_heads;
    j["num_key_value_heads"] = s.num_kv_heads;
    j["head_dim"] = s.head_dim;
    j["intermediate_size"] = s.intermediate_size;
    j["max_position_embeddings"] = s.max_position_embeddings;
    j["rms_norm_eps"] = s.norm_eps;
    j["rope_theta"] = s.rope_theta;
    j["hidden_act"] = s.hidden_act.empty() ? "silu" : s.hidden_act;
    j["attention_bias"] = s.attention_bias;
    j["mlp_bias"] = s.mlp_bias;
    j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
  } else {
    throw ModelLoadError(checkpoint_dir + "/config.json: cannot write unknown model_type '" +
                         s.model_type + "'");
  }
  const std::string path = checkpoint_dir + "/config.json";
  std::ofstream out(path);
  if (!out) throw ModelLoadError(path + ": cannot open for writing");
  out << j.dump(2) << "\n";
  if (!out) throw ModelLoadError(path + ": write failed");
}

}  // namespace crammer
