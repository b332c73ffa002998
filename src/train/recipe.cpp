// Pretraining recipe: YAML -> PretrainRecipe (see recipe.hpp) through its field table and the
// config layer's YAML binder, so a typo, a bad value or a bad override is refused as in the
// sweep config; then the recipe's own validation.
#include "crammer/train/recipe.hpp"

#include <algorithm>

#include "crammer/config/yaml_binder.hpp"
#include "crammer/model/hf_config.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& what) {
  throw ConfigError(origin + ": " + key + ": " + what);
}

// The field table: every key of the recipe, in file order.
void bind_fields(YamlBinder& b, PretrainRecipe& r) {
  b.section("model", [&](YamlBinder& s) {
    auto& m = r.model;
    s.str("arch", m.arch);
    s.i64("layers", m.layers);
    s.i64("d_model", m.d_model);
    s.i64("heads", m.heads);
    s.i64("kv_heads", m.kv_heads);
    s.i64("intermediate_size", m.intermediate_size);
    s.i64("max_positions", m.max_positions);
    s.f64("rope_theta", m.rope_theta);
    s.boolean("tie_word_embeddings", m.tie_word_embeddings);
    s.f64("init_std", m.init_std);
  });
  b.section("data", [&](YamlBinder& s) {
    s.str_list("train", r.data.train);
    s.str("heldout", r.data.heldout);
    s.str("tokenizer", r.data.tokenizer);
  });
  b.section("train", [&](YamlBinder& s) {
    auto& t = r.train;
    s.i64("seq_len", t.seq_len);
    s.i64("batch_size", t.batch_size);
    s.i64("steps", t.steps);
    s.f64("lr", t.lr);
    s.i64("warmup", t.warmup);
    s.f64("min_lr", t.min_lr);
    s.f64("weight_decay", t.weight_decay);
    s.f64("beta1", t.beta1);
    s.f64("beta2", t.beta2);
    s.f64("grad_clip", t.grad_clip);
    s.u64("seed", t.seed);
    s.i64("threads", t.threads);
    s.i64("log_every", t.log_every);
    s.i64("eval_every", t.eval_every);
    s.i64("eval_tokens", t.eval_tokens);
    s.boolean("share_unseen_rows", t.share_unseen_rows);
    s.str("init_from", t.init_from);
  });
  b.section("output", [&](YamlBinder& s) {
    s.str("dir", r.output.dir);
    s.str("dtype", r.output.dtype);
  });
}

void validate(const PretrainRecipe& r) {
  const std::string& o = r.source;
  const auto& m = r.model;
  const auto& t = r.train;
  const auto& types = supported_model_types();
  if (std::find(types.begin(), types.end(), m.arch) == types.end()) {
    std::string list;
    for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
    fail(o, "model.arch", "'" + m.arch + "' is not one of " + list);
  }
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

}  // namespace

PretrainRecipe parse_recipe(const std::string& yaml_text, const std::string& origin,
                            const std::vector<std::string>& overrides) {
  PretrainRecipe r;
  read_yaml(yaml_text, origin, overrides, [&r](YamlBinder& b) { bind_fields(b, r); },
            "a mapping with model, data, train, output");
  r.source = origin;
  validate(r);
  r.yaml = write_yaml([&r](YamlBinder& b) { bind_fields(b, r); });
  return r;
}

PretrainRecipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_recipe(read_file<ConfigError>(path, "pretraining recipe"), path, overrides);
}

}  // namespace crammer
