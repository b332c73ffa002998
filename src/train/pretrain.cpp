// The pretraining loop behind `crammer pretrain` (see pretrain.hpp): data, the training head,
// AdamW with warmup + cosine LR, evaluation on the held-out windows, and the checkpoint.
#include "crammer/train/pretrain.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>

#include <ATen/Parallel.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include "crammer/model/make_model.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"
#include "crammer/util/log.hpp"

namespace crammer {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) { return read_file<CorpusError>(path, "text file"); }

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Linear warmup to lr over `warmup` steps, then cosine decay to min_lr at step `steps`.
double lr_at(const PretrainTrain& t, int64_t step) {
  if (t.warmup > 0 && step < t.warmup) return t.lr * double(step + 1) / double(t.warmup);
  const double span = double(std::max<int64_t>(1, t.steps - t.warmup));
  const double progress = std::min(1.0, double(step - t.warmup) / span);
  return t.min_lr + 0.5 * (t.lr - t.min_lr) * (1.0 + std::cos(M_PI * progress));
}

ModelSpec spec_from_recipe(const PretrainRecipe& r, const Tokenizer& tok) {
  MakeModelOptions o;
  o.arch = r.model.arch;
  o.layers = r.model.layers;
  o.d_model = r.model.d_model;
  o.heads = r.model.heads;
  o.kv_heads = r.model.kv_heads;
  o.intermediate_size = r.model.intermediate_size;
  o.max_position_embeddings = r.model.max_positions;
  o.rope_theta = r.model.rope_theta;
  o.tie_word_embeddings = r.model.tie_word_embeddings;
  o.vocab_size = tok.vocab_size();
  if (auto b = tok.bos_id()) o.bos_token_id = *b;
  if (auto e = tok.eos_id()) o.eos_token_id = *e;
  o.dtype = r.output.dtype;
  o.out_dir = r.output.dir.empty() ? "(none)" : r.output.dir;  // only checked for presence
  try {
    return model_spec_from_options(o);
  } catch (const ConfigError& e) {
    throw ConfigError(r.source + ": model: " + e.what());
  }
}

// The model to train: random (seeded) or the weights of train.init_from, made trainable.
std::shared_ptr<CausalLM> initial_model(const PretrainRecipe& r, const ModelSpec& spec) {
  if (r.train.init_from.empty()) return make_random_model(spec, r.train.seed, r.model.init_std);
  ModelSpec have = read_model_spec(r.train.init_from);
  auto same = have.model_type == spec.model_type && have.hidden_size == spec.hidden_size &&
              have.num_layers == spec.num_layers && have.num_heads == spec.num_heads &&
              have.num_kv_heads == spec.num_kv_heads && have.vocab_size == spec.vocab_size &&
              have.intermediate_size == spec.intermediate_size &&
              have.tie_word_embeddings == spec.tie_word_embeddings;
  if (!same)
    throw ConfigError(r.source + ": train.init_from " + r.train.init_from +
                      ": its config.json does not match the recipe's model section");
  auto model = load_model(r.train.init_from, torch::kFloat32);
  for (auto& p : model->parameters()) p.set_requires_grad(true);
  return model;
}

// The LM head restricted to the tokens seen in training plus one shared row for all others.
// With every unseen row equal to `rest`, the full-vocabulary log-sum-exp over V logits equals
// the log-sum-exp over the U seen logits and one extra logit h.rest + log(V - U): exact, and
// U/V of the cost (the head dominates a small model with a 50k vocabulary).
struct TrainingHead {
  torch::Tensor used;    // [U] int64: seen token ids, ascending
  torch::Tensor unused;  // [V-U] int64
  torch::Tensor remap;   // [V] int64: token id -> class (seen: 0..U-1; unseen: U)
  torch::Tensor rest;    // [d] f32, trainable; undefined when every token has its own row
  double log_rest = 0;   // log(V - U)

  int64_t n_used() const { return used.size(0); }

  // hidden [N, d], targets [N] -> per-target CE [N] (nats, full-vocabulary softmax).
  torch::Tensor ce(CausalLM& m, const torch::Tensor& hidden, const torch::Tensor& targets) const {
    torch::Tensor w = rest.defined() ? m.head_weight().index_select(0, used) : m.head_weight();  // [U, d]
    const double cap = m.final_logit_softcap();
    torch::Tensor logits = soft_cap(at::linear(hidden, w).to(torch::kFloat32), cap);  // [N, U]
    torch::Tensor cls = remap.index_select(0, targets);                  // [N]
    if (!rest.defined()) return at::cross_entropy_loss(logits, cls, {}, at::Reduction::None);
    torch::Tensor r = soft_cap(at::matmul(hidden, rest), cap).unsqueeze(1) + log_rest;  // [N, 1]
    torch::Tensor ce = at::cross_entropy_loss(at::cat({logits, r}, 1), cls, {}, at::Reduction::None);
    return ce + cls.eq(n_used()).to(torch::kFloat32) * log_rest;  // unseen: one of V-U equal rows
  }

  // Makes the model's own head agree with this one: every unseen row := rest.
  void sync(CausalLM& m) const {
    if (!rest.defined() || unused.size(0) == 0) return;
    torch::NoGradGuard no_grad;
    torch::Tensor w = m.head_weight();  // [V, d]
    w.index_copy_(0, unused, rest.detach().unsqueeze(0).expand({unused.size(0), w.size(1)}).contiguous());
  }
};

TrainingHead make_head(const PretrainRecipe& r, CausalLM& m, const torch::Tensor& train_ids,
                       std::optional<int32_t> eos) {
  const int64_t V = m.spec().vocab_size;
  TrainingHead head;
  std::vector<char> seen(size_t(V), 0);
  const int64_t* ids = train_ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < train_ids.numel(); ++i) seen[size_t(ids[i])] = 1;
  if (eos && *eos < V) seen[size_t(*eos)] = 1;
  if (!r.train.share_unseen_rows) std::fill(seen.begin(), seen.end(), 1);
  std::vector<int64_t> used, unused;
  std::vector<int64_t> remap(static_cast<size_t>(V));
  for (int64_t v = 0; v < V; ++v) (seen[size_t(v)] ? used : unused).push_back(v);
  for (size_t i = 0; i < used.size(); ++i) remap[size_t(used[i])] = int64_t(i);
  for (int64_t v : unused) remap[size_t(v)] = int64_t(used.size());
  auto to_tensor = [](const std::vector<int64_t>& v) {
    return torch::tensor(at::ArrayRef<int64_t>(v), torch::kLong);
  };
  head.used = to_tensor(used);
  head.unused = to_tensor(unused);
  head.remap = to_tensor(remap);
  if (!unused.empty()) {
    head.log_rest = std::log(double(unused.size()));
    torch::NoGradGuard no_grad;
    // A resumed model already has equal unseen rows: start from them; a random one from zero.
    head.rest = r.train.init_from.empty() ? torch::zeros({m.head_weight().size(1)})
                                          : m.head_weight().index_select(0, head.unused).mean(0);
    head.rest.set_requires_grad(true);
  }
  return head;
}

// Held-out CE through the training head (same value as the exported model's full head).
double eval_with_head(CausalLM& m, const TrainingHead& head, const torch::Tensor& windows) {
  torch::NoGradGuard no_grad;
  head.sync(m);
  double sum = 0;
  int64_t count = 0;
  for (int64_t s = 0; s < windows.size(0); s += 8) {
    torch::Tensor w = windows.slice(0, s, std::min(s + 8, windows.size(0)));  // [c, T]
    torch::Tensor h = m.forward(m.embed(w)).slice(1, 0, w.size(1) - 1);   // [c, T-1, d]
    torch::Tensor ce = head.ce(m, h.reshape({-1, h.size(2)}), w.slice(1, 1).reshape({-1}));
    sum += ce.sum().item<double>();
    count += ce.numel();
  }
  return sum / double(count);
}

void copy_tokenizer_files(const std::string& from, const std::string& to) {
  static const char* files[] = {"tokenizer.json",        "vocab.json",
                                "merges.txt",            "tokenizer.model",
                                "tokenizer_config.json", "special_tokens_map.json"};
  for (const char* f : files) {
    fs::path src = fs::path(from) / f;
    if (!fs::exists(src)) continue;
    std::error_code ec;
    fs::copy_file(src, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) throw ConfigError("pretrain: cannot copy " + src.string() + ": " + ec.message());
  }
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw ConfigError("pretrain: cannot write " + path.string());
}

void log_progress(const PretrainProgress& p) {
  if (p.heldout_ce >= 0) {
    spdlog::info("step {}/{}  held-out CE {:.4f} nats/token", p.step, p.steps, p.heldout_ce);
    return;
  }
  spdlog::info("step {}/{}  loss {:.4f}  lr {:.2e}  grad-norm {:.2f}  {:.0f} tok/s  elapsed {:.0f}s  eta {:.0f}s",
               p.step, p.steps, p.loss, p.lr, p.grad_norm, p.tokens_per_s, p.elapsed_s, p.eta_s);
}

}  // namespace

torch::Tensor tokenize_files(const Tokenizer& tok, const std::vector<std::string>& paths) {
  std::vector<int64_t> ids;
  for (const auto& path : paths) {
    std::vector<int32_t> doc = tok.encode(read_text(path));
    if (doc.empty()) throw CorpusError(path + ": no tokens");
    ids.insert(ids.end(), doc.begin(), doc.end());
    if (auto eos = tok.eos_id()) ids.push_back(*eos);  // document boundary, as GPT-2 training does
  }
  return torch::tensor(at::ArrayRef<int64_t>(ids), torch::kLong);  // [N]
}

torch::Tensor heldout_windows(const Tokenizer& tok, const std::string& path, int64_t seq_len,
                              int64_t eval_tokens) {
  std::vector<int32_t> doc = tok.encode(read_text(path));
  const int64_t used = eval_tokens > 0 ? std::min<int64_t>(eval_tokens, int64_t(doc.size())) : int64_t(doc.size());
  const int64_t n = used / seq_len;
  if (n == 0)
    throw CorpusError(path + ": " + std::to_string(doc.size()) + " tokens, fewer than one window of " +
                      std::to_string(seq_len));
  std::vector<int64_t> ids(doc.begin(), doc.begin() + n * seq_len);
  return torch::tensor(at::ArrayRef<int64_t>(ids), torch::kLong).view({n, seq_len});
}

double heldout_ce(CausalLM& model, const torch::Tensor& windows, int64_t chunk) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  int64_t count = 0;
  for (int64_t s = 0; s < windows.size(0); s += chunk) {
    torch::Tensor w = windows.slice(0, s, std::min(s + chunk, windows.size(0)));  // [c, T]
    torch::Tensor h = model.forward(model.embed(w)).slice(1, 0, w.size(1) - 1);   // [c, T-1, d]
    torch::Tensor logits = model.lm_head(h);                                         // [c, T-1, V] f32
    torch::Tensor ce = at::cross_entropy_loss(logits.reshape({-1, logits.size(2)}),
                                              w.slice(1, 1).reshape({-1}), {}, at::Reduction::Sum);
    sum += ce.item<double>();
    count += h.size(0) * h.size(1);
  }
  return sum / double(count);
}

PretrainResult pretrain(const PretrainRecipe& recipe, const ProgressCallback& on_progress) {
  const PretrainTrain& t = recipe.train;
  const ProgressCallback report = on_progress ? on_progress : ProgressCallback(log_progress);
  at::set_num_threads(static_cast<int>(t.threads));
  at::manual_seed(t.seed);

  auto tok = load_tokenizer(recipe.data.tokenizer);
  torch::Tensor train_ids = tokenize_files(*tok, recipe.data.train);  // [N]
  torch::Tensor windows = heldout_windows(*tok, recipe.data.heldout, t.seq_len, t.eval_tokens);  // [n, T]
  const int64_t N = train_ids.numel(), T = t.seq_len, B = t.batch_size;
  if (N <= T + 1)
    throw CorpusError(recipe.source + ": data.train has " + std::to_string(N) + " tokens, fewer than seq_len + 2");

  const ModelSpec spec = spec_from_recipe(recipe, *tok);
  std::shared_ptr<CausalLM> model = initial_model(recipe, spec);
  model->train();
  TrainingHead head = make_head(recipe, *model, train_ids, tok->eos_id());

  PretrainResult res;
  res.train_tokens = N;
  res.seen_vocab = head.n_used();
  res.heldout_targets = windows.size(0) * (T - 1);
  // AdamW groups: weight decay on matrices (embeddings, projections), none on norms and `rest`.
  std::vector<torch::Tensor> decay, no_decay, all;
  for (auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  if (head.rest.defined()) no_decay.push_back(head.rest);
  all = decay;
  all.insert(all.end(), no_decay.begin(), no_decay.end());
  for (auto& p : all) res.parameters += p.numel();
  spdlog::info("pretrain: {} {} layers d_model {} heads {} ({} parameters), vocab {} ({} seen in training)",
               spec.model_type, spec.num_layers, spec.hidden_size, spec.num_heads, res.parameters,
               spec.vocab_size, res.seen_vocab);
  spdlog::info("pretrain: {} training tokens, held-out {} windows x {} tokens from {}, {} steps x {} x {} tokens",
               N, windows.size(0), T, recipe.data.heldout, t.steps, B, T);

  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(t.lr).betas({t.beta1, t.beta2}).eps(1e-8).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, opts(t.weight_decay));
  groups.emplace_back(no_decay, opts(0.0));
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(t.lr));

  // Batches: B windows of T + 1 tokens at uniformly drawn offsets (seeded; rng() % range so the
  // sequence does not depend on the standard library's distributions).
  std::mt19937_64 rng(t.seed);
  const int64_t* ids = train_ids.data_ptr<int64_t>();
  torch::Tensor batch = torch::empty({B, T + 1}, torch::kLong);  // [B, T+1]

  auto t0 = Clock::now();
  double train_s = 0, window_loss = 0;
  int64_t window_steps = 0;
  auto window_start = Clock::now();
  for (int64_t step = 0; step < t.steps; ++step) {
    auto step_start = Clock::now();
    int64_t* bp = batch.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      const uint64_t off = rng() % uint64_t(N - T);
      std::copy(ids + off, ids + off + T + 1, bp + b * (T + 1));
    }
    const double lr = lr_at(t, step);
    for (auto& g : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);

    torch::Tensor x = batch.slice(1, 0, T), y = batch.slice(1, 1);          // [B, T] each
    torch::Tensor h = model->forward(model->embed(x));                        // [B, T, d]
    torch::Tensor loss = head.ce(*model, h.reshape({B * T, -1}), y.reshape({-1})).mean();
    optimizer.zero_grad();
    loss.backward();
    const double max_norm = t.grad_clip > 0 ? t.grad_clip : std::numeric_limits<double>::infinity();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(all, max_norm);
    optimizer.step();

    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw Error("pretrain: loss is " + std::to_string(l) + " at step " + std::to_string(step + 1));
    res.losses.push_back(l);
    train_s += seconds_since(step_start);
    window_loss += l;
    ++window_steps;

    const int64_t done = step + 1;
    if (done % t.log_every == 0 || done == t.steps) {
      PretrainProgress p;
      p.step = done;
      p.steps = t.steps;
      p.loss = window_loss / double(window_steps);
      p.lr = lr;
      p.grad_norm = grad_norm;
      p.tokens_per_s = double(window_steps * B * T) / seconds_since(window_start);
      p.elapsed_s = seconds_since(t0);
      p.eta_s = train_s / double(done) * double(t.steps - done);
      report(p);
      window_loss = 0;
      window_steps = 0;
      window_start = Clock::now();
    }
    if (t.eval_every > 0 && done % t.eval_every == 0 && done != t.steps) {
      PretrainProgress p;
      p.step = done;
      p.steps = t.steps;
      p.heldout_ce = eval_with_head(*model, head, windows);
      res.heldout.emplace_back(done, p.heldout_ce);
      report(p);
      window_start = Clock::now();  // evaluation time is not training throughput
    }
  }
  res.train_wall_s = seconds_since(t0);
  res.tokens_per_s = t.steps > 0 ? double(t.steps * B * T) / train_s : 0.0;
  const size_t tail = std::min<size_t>(50, res.losses.size());
  for (size_t i = res.losses.size() - tail; i < res.losses.size(); ++i) res.final_train_loss += res.losses[i] / double(tail);

  res.heldout_ce_trained = eval_with_head(*model, head, windows);  // also syncs the unseen rows
  res.heldout.emplace_back(t.steps, res.heldout_ce_trained);
  {
    PretrainProgress p;
    p.step = p.steps = t.steps;
    p.heldout_ce = res.heldout_ce_trained;
    report(p);
  }
  res.model = model;

  if (!recipe.output.dir.empty()) {
    const std::string& dir = recipe.output.dir;
    std::map<std::string, torch::Tensor> weights = export_hf_weights(*model);
    for (auto& [name, w] : weights)
      w = recipe.output.dtype == "bf16" ? w.to(torch::kBFloat16) : w.clone();
    write_checkpoint(dir, weights);
    write_model_spec(spec, dir);
    copy_tokenizer_files(recipe.data.tokenizer, dir);
    write_text(fs::path(dir) / "recipe.yaml", recipe.yaml);

    auto reloaded = load_model(dir, torch::kFloat32);
    res.heldout_ce_reloaded = heldout_ce(*reloaded, windows);
    spdlog::info("pretrain: wrote {} ({}); reloaded held-out CE {:.4f} nats/token (f32 weights: {:.4f})", dir,
                 recipe.output.dtype, res.heldout_ce_reloaded, res.heldout_ce_trained);

    nlohmann::ordered_json j;
    j["heldout_ce"] = res.heldout_ce_reloaded;
    j["heldout_path"] = recipe.data.heldout;
    j["seq_len"] = T;
    j["eval_tokens"] = t.eval_tokens;
    j["windows"] = windows.size(0);
    j["targets"] = res.heldout_targets;
    j["definition"] = "mean next-token CE (nats) of the reloaded checkpoint in f32 over the first eval_tokens "
                      "tokens of heldout_path (0: all of it) cut into windows of seq_len; seq_len-1 targets "
                      "per window";
    j["heldout_ce_f32_weights"] = res.heldout_ce_trained;
    j["final_train_loss"] = res.final_train_loss;
    j["steps"] = t.steps;
    j["seed"] = t.seed;
    j["threads"] = t.threads;
    j["train_wall_s"] = res.train_wall_s;
    j["tokens_per_s"] = res.tokens_per_s;
    j["train_tokens"] = res.train_tokens;
    j["seen_vocab"] = res.seen_vocab;
    j["parameters"] = res.parameters;
    j["init_from"] = t.init_from;
    nlohmann::ordered_json curve = nlohmann::ordered_json::array();
    for (const auto& [s, ce] : res.heldout) curve.push_back({s, ce});
    j["heldout_curve"] = curve;
    write_text(fs::path(dir) / "heldout.json", j.dump(2) + "\n");
  }
  return res;
}

}  // namespace crammer
