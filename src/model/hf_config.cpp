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

#include "config_fields.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

void read_gpt2(const ConfigFields& f, ModelSpec& s) {
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

void read_gpt_neox(const ConfigFields& f, ModelSpec& s) {
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

void read_llama(const ConfigFields& f, ModelSpec& s) {
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

void validate(const ConfigFields& f, const ModelSpec& s, const std::string& hidden_field,
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
  ConfigFields f(j, path);

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
