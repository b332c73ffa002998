// Pretraining recipe: YAML -> PretrainRecipe (see recipe.hpp). One table of keys per section;
// every key of the file must be claimed, so a typo is an error that names it.
#include "crammer/train/recipe.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

using Setter = std::function<void(const YAML::Node&)>;

struct Section {
  std::string name;
  std::vector<std::pair<std::string, Setter>> keys;
};

[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& what) {
  throw ConfigError(origin + ": " + key + ": " + what);
}

// Scalar readers that name the key on a bad value.
template <typename T>
Setter scalar(const std::string& origin, const std::string& key, T& out, const char* expected) {
  return [&out, origin, key, expected](const YAML::Node& n) {
    if (!n.IsScalar()) fail(origin, key, std::string("expected ") + expected + ", got a non-scalar");
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      fail(origin, key, std::string("expected ") + expected + ", got '" + n.Scalar() + "'");
    }
  };
}

Setter string_list(const std::string& origin, const std::string& key, std::vector<std::string>& out) {
  return [&out, origin, key](const YAML::Node& n) {
    out.clear();
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return;
    }
    if (!n.IsSequence()) fail(origin, key, "expected a list of file paths");
    for (const auto& e : n) {
      if (!e.IsScalar()) fail(origin, key, "expected a list of file paths");
      out.push_back(e.Scalar());
    }
  };
}

std::vector<Section> sections(PretrainRecipe& r, const std::string& o) {
  auto& m = r.model;
  auto& d = r.data;
  auto& t = r.train;
  auto& w = r.output;
  return {
      {"model",
       {{"arch", scalar(o, "model.arch", m.arch, "a string")},
        {"layers", scalar(o, "model.layers", m.layers, "an integer")},
        {"d_model", scalar(o, "model.d_model", m.d_model, "an integer")},
        {"heads", scalar(o, "model.heads", m.heads, "an integer")},
        {"kv_heads", scalar(o, "model.kv_heads", m.kv_heads, "an integer")},
        {"intermediate_size", scalar(o, "model.intermediate_size", m.intermediate_size, "an integer")},
        {"max_positions", scalar(o, "model.max_positions", m.max_positions, "an integer")},
        {"rope_theta", scalar(o, "model.rope_theta", m.rope_theta, "a number")},
        {"tie_word_embeddings", scalar(o, "model.tie_word_embeddings", m.tie_word_embeddings, "true or false")},
        {"init_std", scalar(o, "model.init_std", m.init_std, "a number")}}},
      {"data",
       {{"train", string_list(o, "data.train", d.train)},
        {"heldout", scalar(o, "data.heldout", d.heldout, "a file path")},
        {"tokenizer", scalar(o, "data.tokenizer", d.tokenizer, "a directory")}}},
      {"train",
       {{"seq_len", scalar(o, "train.seq_len", t.seq_len, "an integer")},
        {"batch_size", scalar(o, "train.batch_size", t.batch_size, "an integer")},
        {"steps", scalar(o, "train.steps", t.steps, "an integer")},
        {"lr", scalar(o, "train.lr", t.lr, "a number")},
        {"warmup", scalar(o, "train.warmup", t.warmup, "an integer")},
        {"min_lr", scalar(o, "train.min_lr", t.min_lr, "a number")},
        {"weight_decay", scalar(o, "train.weight_decay", t.weight_decay, "a number")},
        {"beta1", scalar(o, "train.beta1", t.beta1, "a number")},
        {"beta2", scalar(o, "train.beta2", t.beta2, "a number")},
        {"grad_clip", scalar(o, "train.grad_clip", t.grad_clip, "a number")},
        {"seed", scalar(o, "train.seed", t.seed, "a non-negative integer")},
        {"threads", scalar(o, "train.threads", t.threads, "an integer")},
        {"log_every", scalar(o, "train.log_every", t.log_every, "an integer")},
        {"eval_every", scalar(o, "train.eval_every", t.eval_every, "an integer")},
        {"eval_tokens", scalar(o, "train.eval_tokens", t.eval_tokens, "an integer")},
        {"share_unseen_rows", scalar(o, "train.share_unseen_rows", t.share_unseen_rows, "true or false")},
        {"init_from", scalar(o, "train.init_from", t.init_from, "a checkpoint directory")}}},
      {"output",
       {{"dir", scalar(o, "output.dir", w.dir, "a directory")},
        {"dtype", scalar(o, "output.dtype", w.dtype, "f32 or bf16")}}},
  };
}

// Closest known key, for "did you mean" in unknown-key errors.
std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = 4;  // farther than 3 edits is no suggestion
  for (const auto& k : known)
    if (size_t dd = distance(key, k); dd < best_d) best_d = dd, best = k;
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::vector<std::string> known_names(const std::vector<std::pair<std::string, Setter>>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.first);
  return out;
}

// "a.b=v": sets root[a][b] to the YAML value v (so lists and numbers keep their type).
void apply_override(YAML::Node& root, const std::string& word, const std::string& origin) {
  size_t eq = word.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(origin + ": override '" + word + "' is not of the form a.b=value");
  std::string path = word.substr(0, eq), value = word.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty())
    throw ConfigError(origin + ": override '" + word + "': expected section.key=value");
  YAML::Node v;
  try {
    v = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": override '" + word + "': " + e.msg);
  }
  if (!root[parts[0]] || !root[parts[0]].IsMap()) root[parts[0]] = YAML::Node(YAML::NodeType::Map);
  YAML::Node section = root[parts[0]];
  section[parts[1]] = v;
}

void validate(const PretrainRecipe& r) {
  const std::string& o = r.source;
  const auto& m = r.model;
  const auto& t = r.train;
  if (m.arch != "llama" && m.arch != "gpt_neox" && m.arch != "gpt2")
    fail(o, "model.arch", "'" + m.arch + "' is not one of llama, gpt_neox, gpt2");
  if (m.layers <= 0) fail(o, "model.layers", "must be > 0");
  if (m.d_model <= 0 || m.heads <= 0 || m.d_model % m.heads != 0)
    fail(o, "model.d_model", "d_model " + std::to_string(m.d_model) + " must be a positive multiple of heads " +
                                 std::to_string(m.heads));
  if (m.init_std <= 0) fail(o, "model.init_std", "must be > 0");
  if (r.data.train.empty()) fail(o, "data.train", "at least one training file is required");
  if (r.data.heldout.empty()) fail(o, "data.heldout", "a held-out file is required");
  for (const auto& p : r.data.train)
    if (p == r.data.heldout)
      fail(o, "data.train", "'" + p + "' is also data.heldout: the held-out text must never be trained on");
  if (t.seq_len < 2) fail(o, "train.seq_len", "must be >= 2");
  if (t.seq_len > m.max_positions)
    fail(o, "train.seq_len", std::to_string(t.seq_len) + " > model.max_positions " +
                                 std::to_string(m.max_positions));
  if (t.batch_size <= 0) fail(o, "train.batch_size", "must be > 0");
  if (t.steps < 0) fail(o, "train.steps", "must be >= 0");
  if (t.lr <= 0) fail(o, "train.lr", "must be > 0");
  if (t.min_lr < 0 || t.min_lr > t.lr)
    fail(o, "train.min_lr", std::to_string(t.min_lr) + " must lie in [0, lr " + std::to_string(t.lr) + "]");
  if (t.warmup < 0) fail(o, "train.warmup", "must be >= 0");
  if (t.weight_decay < 0) fail(o, "train.weight_decay", "must be >= 0");
  if (t.grad_clip < 0) fail(o, "train.grad_clip", "must be >= 0 (0 = off)");
  if (t.threads <= 0) fail(o, "train.threads", "must be > 0");
  if (t.log_every <= 0) fail(o, "train.log_every", "must be > 0");
  if (t.eval_every < 0) fail(o, "train.eval_every", "must be >= 0 (0 = only at the end)");
  if (t.eval_tokens != 0 && t.eval_tokens < t.seq_len)
    fail(o, "train.eval_tokens", std::to_string(t.eval_tokens) + " < seq_len " + std::to_string(t.seq_len) +
                                     ": no complete held-out window (0 = the whole held-out file)");
  if (r.output.dtype != "f32" && r.output.dtype != "bf16")
    fail(o, "output.dtype", "'" + r.output.dtype + "' is not f32 or bf16");
}

std::string to_yaml(const PretrainRecipe& r) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "arch" << YAML::Value << r.model.arch << YAML::Key << "layers" << YAML::Value << r.model.layers
    << YAML::Key << "d_model" << YAML::Value << r.model.d_model << YAML::Key << "heads" << YAML::Value
    << r.model.heads << YAML::Key << "kv_heads" << YAML::Value << r.model.kv_heads << YAML::Key
    << "intermediate_size" << YAML::Value << r.model.intermediate_size << YAML::Key << "max_positions"
    << YAML::Value << r.model.max_positions << YAML::Key << "rope_theta" << YAML::Value << r.model.rope_theta
    << YAML::Key << "tie_word_embeddings" << YAML::Value << r.model.tie_word_embeddings << YAML::Key
    << "init_std" << YAML::Value << r.model.init_std;
  e << YAML::EndMap;
  e << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "train" << YAML::Value << YAML::Flow << r.data.train;
  e << YAML::Key << "heldout" << YAML::Value << r.data.heldout << YAML::Key << "tokenizer" << YAML::Value
    << r.data.tokenizer;
  e << YAML::EndMap;
  const auto& t = r.train;
  e << YAML::Key << "train" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "seq_len" << YAML::Value << t.seq_len << YAML::Key << "batch_size" << YAML::Value
    << t.batch_size << YAML::Key << "steps" << YAML::Value << t.steps << YAML::Key << "lr" << YAML::Value << t.lr
    << YAML::Key << "warmup" << YAML::Value << t.warmup << YAML::Key << "min_lr" << YAML::Value << t.min_lr
    << YAML::Key << "weight_decay" << YAML::Value << t.weight_decay << YAML::Key << "beta1" << YAML::Value
    << t.beta1 << YAML::Key << "beta2" << YAML::Value << t.beta2 << YAML::Key << "grad_clip" << YAML::Value
    << t.grad_clip << YAML::Key << "seed" << YAML::Value << t.seed << YAML::Key << "threads" << YAML::Value
    << t.threads << YAML::Key << "log_every" << YAML::Value << t.log_every << YAML::Key << "eval_every"
    << YAML::Value << t.eval_every << YAML::Key << "eval_tokens" << YAML::Value << t.eval_tokens << YAML::Key
    << "share_unseen_rows" << YAML::Value << t.share_unseen_rows << YAML::Key << "init_from" << YAML::Value
    << t.init_from;
  e << YAML::EndMap;
  e << YAML::Key << "output" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "dir" << YAML::Value << r.output.dir << YAML::Key << "dtype" << YAML::Value << r.output.dtype;
  e << YAML::EndMap << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace

PretrainRecipe parse_recipe(const std::string& yaml_text, const std::string& origin,
                            const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(origin + ": expected a mapping with model, data, train, output");
  for (const auto& w : overrides) apply_override(root, w, origin);

  PretrainRecipe r;
  r.source = origin;
  std::vector<Section> table = sections(r, origin);
  std::vector<std::string> section_names;
  for (const auto& s : table) section_names.push_back(s.name);
  std::set<std::string> seen;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    auto it = std::find_if(table.begin(), table.end(), [&](const Section& s) { return s.name == key; });
    if (it == table.end())
      throw ConfigError(origin + ": unknown key '" + key + "'" + suggestion(key, section_names) +
                        "; known: model, data, train, output");
    if (!kv.second.IsMap() && !kv.second.IsNull())
      throw ConfigError(origin + ": " + key + ": expected a mapping");
    for (const auto& entry : kv.second) {
      const std::string sub = entry.first.as<std::string>();
      auto k = std::find_if(it->keys.begin(), it->keys.end(), [&](const auto& p) { return p.first == sub; });
      if (k == it->keys.end())
        throw ConfigError(origin + ": unknown key '" + key + "." + sub + "'" +
                          suggestion(sub, known_names(it->keys)));
      k->second(entry.second);
    }
  }
  validate(r);
  r.yaml = to_yaml(r);
  return r;
}

PretrainRecipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_recipe(read_file<ConfigError>(path, "pretraining recipe"), path, overrides);
}

}  // namespace crammer
