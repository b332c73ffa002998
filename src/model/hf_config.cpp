// Reads and writes a Hugging Face config.json: the fields every family shares here, the rest
// through the family's own record (family.hpp; families.def lists them). Not a general PretrainedConfig: only what crammer's model
// implementations use; options that would change the maths and that crammer does not implement
// are refused rather than silently ignored.
#include "crammer/model/hf_config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <cstdint>

#include <nlohmann/json.hpp>

#include "family.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

std::string type_list() {
  std::string list;
  for (const auto& t : supported_model_types()) list += (list.empty() ? "" : ", ") + t;
  return list;
}

void validate(const ConfigFields& f, const ModelSpec& s, const Family& family) {
  const std::string& hidden_field = family.hidden_field;
  const std::string& heads_field = family.heads_field;
  auto positive = [&](const std::string& field, int64_t v) {
    if (v <= 0) f.fail(field, "must be > 0, got " + std::to_string(v));
  };
  positive("vocab_size", s.vocab_size);
  positive(hidden_field, s.hidden_size);
  positive(family.ffn_field, s.intermediate_size);
  if (s.num_layers <= 0) f.fail(family.layers_field, "must be > 0, got " + std::to_string(s.num_layers));
  if (!family.attention) return;
  positive(heads_field, s.num_heads);
  positive("head_dim", s.head_dim);
  positive(family.positions_field, s.max_position_embeddings);
  bool explicit_head_dim = family.head_dim_field && f.has("head_dim");
  if (!explicit_head_dim && s.hidden_size % s.num_heads != 0)
    f.fail(heads_field, hidden_field + " " + std::to_string(s.hidden_size) +
                            " is not divisible by " + std::to_string(s.num_heads) + " heads");
  if (s.num_kv_heads <= 0 || s.num_heads % s.num_kv_heads != 0)
    f.fail("num_key_value_heads", std::to_string(s.num_heads) + " heads are not divisible by " +
                                      std::to_string(s.num_kv_heads) + " key/value heads");
  if (family.rotary) {
    int64_t rot = static_cast<int64_t>(s.head_dim * s.rotary_pct);
    if (s.rotary_pct <= 0 || s.rotary_pct > 1 || rot % 2 != 0 || rot == 0)
      f.fail("rotary_pct", "head_dim " + std::to_string(s.head_dim) + " * " +
                               std::to_string(s.rotary_pct) + " = " + std::to_string(rot) +
                               " rotary dims; must be even and > 0");
  }
}

}  // namespace

const std::vector<const Family*>& families() {
  static const std::vector<const Family*> all = {
#define CRAMMER_FAMILY(name) &name##_family(),
#include "families.def"
#undef CRAMMER_FAMILY
  };
  return all;
}

const Family* find_family(const std::string& model_type) {
  for (const Family* f : families())
    if (f->model_type == model_type) return f;
  return nullptr;
}

int64_t max_sliding_window(const ModelSpec& spec) {
  int64_t w = 0;
  for (int64_t v : spec.layer_windows) w = std::max(w, v);
  return w;
}

int64_t embedding_dim(const ModelSpec& spec) {
  return spec.embedding_width > 0 ? spec.embedding_width : spec.hidden_size;
}

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> out;
    for (const Family* f : families()) out.push_back(f->model_type);
    return out;
  }();
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
  if (s.model_type.empty()) f.fail("model_type", "missing (expected one of " + type_list() + ")");
  s.vocab_size = f.integer("vocab_size");
  s.bos_token_id = f.token_id("bos_token_id");
  s.eos_token_id = f.token_id("eos_token_id");
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  s.torch_dtype = f.has("torch_dtype") ? f.string("torch_dtype", "") : f.string("dtype", "");

  const Family* family = find_family(s.model_type);
  if (!family) {
    f.fail("model_type", "unknown model_type '" + s.model_type + "' (supported: " + type_list() + ")");
  }
  family->read(f, s);
  validate(f, s, *family);
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
  j["pad_token_id"] = nullptr;  // SmolLM3Config's default 128004 would not fit a small vocabulary
  if (!s.torch_dtype.empty()) j["torch_dtype"] = s.torch_dtype;
  const Family* family = find_family(s.model_type);
  if (!family)
    throw ModelLoadError(checkpoint_dir + "/config.json: cannot write unknown model_type '" + s.model_type + "'");
  j["architectures"] = {family->hf_class};
  family->write(s, j);
  const std::string path = checkpoint_dir + "/config.json";
  std::ofstream out(path);
  if (!out) throw ModelLoadError(path + ": cannot open for writing");
  out << j.dump(2) << "\n";
  if (!out) throw ModelLoadError(path + ": write failed");
}

}  // namespace crammer
