// One batched cramming run (DESIGN §4): B texts of equal k checked, their baselines, the step
// loop (cram_loop.hpp: mem [B, k, d] trained with AdamW, per-sample stop, compaction), the
// checks at each best mem, then the metrics of DESIGN §2. Not for: grouping tasks into batches
// or capacity search (cram.cpp).
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include <ATen/Parallel.h>

#include "cram_loop.hpp"
#include "crammer/cram/engine.hpp"
#include "crammer/cram/ops.hpp"
#include "crammer/cram/mem_attention.hpp"
#include "crammer/cram/one_step.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

namespace {

// all_targets: t_1 is a target (predict_first_token, one-step generation).
void check_items(CausalLM& model, const std::vector<CramItem>& items, const CramConfig& cfg, bool all_targets) {
  const auto& spec = model.spec();
  const int64_t k = items.front().n_mem;
  const bool one_step = one_step_on(cfg);
  const int64_t rows = k + one_step_extra_rows(cfg);  // of a task's trained mem
  const size_t context = items.front().context.size();
  for (const auto& it : items) {
    std::ostringstream why;
    const auto n = static_cast<int64_t>(it.tokens.size());
    const auto c = static_cast<int64_t>(it.context.size());
    if (it.n_mem != k) {
      why << "n_mem " << it.n_mem << " differs from the batch's " << k;
    } else if (it.n_mem < 1) {
      why << "n_mem " << it.n_mem << " < 1";
    } else if (n < (all_targets ? 1 : 2)) {
      why << "text of " << n << " tokens has no target (need >= " << (all_targets ? 1 : 2) << ")";
    } else if (it.context.size() != context) {
      why << "context of " << c << " tokens differs from the batch's " << context;
    } else if (one_step && spec.max_position_embeddings > 0 && k + n - 1 > spec.max_position_embeddings) {
      why << "one-step carrier of n_mem + length - 1 = " << k << " + " << n << " - 1 > max_position_embeddings "
          << spec.max_position_embeddings;
    } else if (spec.max_position_embeddings > 0 && k + c + n > spec.max_position_embeddings) {
      why << "n_mem + context + length = " << k << " + " << c << " + " << n << " > max_position_embeddings "
          << spec.max_position_embeddings;
    } else if (it.warm_mem.defined() &&
               (it.warm_mem.dim() != 2 || it.warm_mem.size(0) != rows ||
                it.warm_mem.size(1) != embedding_dim(spec))) {
      why << "warm-start mem has shape " << it.warm_mem.sizes() << ", expected [" << rows << ", "
          << embedding_dim(spec) << "]" << (rows > k ? " (e_1..e_k, then m: cram.one_step per_text)" : "");
    } else if (it.warm_m.defined() && (!it.warm_mem.defined() || !it.warm_v.defined() ||
                                       it.warm_m.sizes() != it.warm_mem.sizes() ||
                                       it.warm_v.sizes() != it.warm_mem.sizes())) {
      why << "carried AdamW moments need a warm-start mem of their shape";
    } else {
      std::vector<int32_t> ids = it.context;
      ids.insert(ids.end(), it.tokens.begin(), it.tokens.end());
      for (auto id : ids) {
        if (id < 0 || id >= spec.vocab_size) {
          why << "token id " << id << " outside the vocabulary [0, " << spec.vocab_size << ")";
          break;
        }
      }
    }
    if (!why.str().empty()) throw ConfigError("cram task " + it.key + ": " + why.str());
  }
}

}  // namespace

int64_t cpu_micro_batch(int64_t positions, int64_t d_model, int threads) {
  const int64_t per_sample = std::max<int64_t>(1, positions * d_model * 4);  // f32 bytes
  return std::max<int64_t>(1, kCpuActivationBytesPerThread * std::max(1, threads) / per_sample);
}

namespace {

// Runs the batch in micro-batches one after another when it holds more samples than one may
// (settings.micro_batch; 0: cache-sized on a CPU); nullopt when it fits as one. Samples are
// independent (own mem, own AdamW moments, own stop), so the rows are those of one batch.
std::optional<std::vector<CramOutcome>> in_micro_batches(CausalLM& model, const std::vector<CramItem>& items,
                                                         const CramSettings& settings) {
  int64_t micro = settings.micro_batch;
  if (micro <= 0 && model.embedding_weight().device().is_cpu()) {
    size_t longest = 0;
    for (const auto& it : items) longest = std::max(longest, it.tokens.size());
    micro = cpu_micro_batch(items.front().n_mem + static_cast<int64_t>(items.front().context.size() + longest),
                            model.spec().hidden_size, at::get_num_threads());
  }
  if (micro <= 0 || static_cast<int64_t>(items.size()) <= micro) return std::nullopt;
  CramSettings one = settings;
  one.micro_batch = micro;
  std::vector<CramOutcome> out(items.size());
  for (size_t i0 = 0; i0 < items.size(); i0 += static_cast<size_t>(micro)) {
    const size_t i1 = std::min(items.size(), i0 + static_cast<size_t>(micro));
    auto part = cram_batch(model, std::vector<CramItem>(items.begin() + i0, items.begin() + i1), one);
    std::move(part.begin(), part.end(), out.begin() + static_cast<std::ptrdiff_t>(i0));
  }
  return out;
}

// The in-context control (cram.in_context_control): the text after its copy prompt instead of
// after [mem], one forward each (prompts differ in length), scored as the baselines are, t_1 as
// input. Per item: the scores and the targets they cover (0: no control).
std::vector<std::pair<Baseline, int64_t>> in_context_controls(CausalLM& model, const std::vector<CramItem>& items,
                                                              int64_t chunk) {
  std::vector<std::pair<Baseline, int64_t>> out(items.size());
  for (size_t b = 0; b < items.size(); ++b) {
    const auto& it = items[b];
    if (it.copy_prompt.empty() || it.tokens.size() < static_cast<size_t>(it.copy_from) + 2) continue;
    std::vector<int32_t> copied(it.tokens.begin() + it.copy_from, it.tokens.end());
    out[b] = {compute_baselines(model, {copied}, /*predict_first_token=*/false, chunk, {it.copy_prompt}).front(),
              static_cast<int64_t>(copied.size()) - 1};
  }
  return out;
}

// What each best mem gives when read back: the decode check (cram.decode_check; one-step: its
// single pass) and the attention mass on [mem] (output.attention_mass), into out[b].row.
void check_best_mems(CausalLM& model, const std::vector<CramItem>& items, const CramSettings& settings,
                     const torch::Tensor& shared_m, const std::vector<int64_t>& n_targets, std::vector<Track>& track,
                     std::vector<CramOutcome>& out) {
  const auto& cfg = settings.cram;
  const int64_t k = items.front().n_mem;
  std::vector<std::vector<int32_t>> texts, contexts;
  std::vector<torch::Tensor> mems;
  for (size_t b = 0; b < items.size(); ++b) {
    texts.push_back(items[b].tokens);
    contexts.push_back(items[b].context);
    mems.push_back(track[b].best_mem);
  }
  const double n = static_cast<double>(items.size());
  if (cfg.decode_check) {
    const auto t0 = Clock::now();
    auto dec = one_step_on(cfg) ? one_step_decode(model, torch::stack(mems), shared_m, k, texts)
                                : greedy_decode(model, torch::stack(mems), texts, cfg.predict_first_token, contexts);
    const double share = seconds_since(t0) / n;
    for (size_t b = 0; b < items.size(); ++b) {
      out[b].row.decode_prefix = dec.prefix[b];
      out[b].row.decode_exact = dec.prefix[b] == n_targets[b];
      out[b].row.decode_acc = static_cast<double>(dec.matches[b]) / static_cast<double>(n_targets[b]);
      track[b].wall += share;
    }
  }
  if (settings.attention_mass) {
    const auto t0 = Clock::now();
    auto mass = mem_attention_mass(model, mems, texts, contexts, k, one_step_on(cfg), shared_m);
    const double share = seconds_since(t0) / n;
    for (size_t b = 0; b < items.size(); ++b) {
      out[b].row.mem_attention = std::move(mass[b]);
      track[b].wall += share;
    }
  }
}

// Sample b's row and outcome from its books (out.row's checks already set).
void fill_outcome(const CramItem& it, Track& tr, const Baseline& base, const std::pair<Baseline, int64_t>& copy,
                  int64_t n_targets, const CramSettings& settings, const torch::Tensor& shared_m, CramOutcome& out) {
  const auto& opt = settings.cram.optimizer;
  auto& r = out.row;
  r.task_key = it.key;
  r.model_index = it.model_index;
  r.sample_id = it.sample_id;
  r.n_mem = it.n_mem;
  r.restart = it.restart;
  r.n_bytes = it.n_bytes;
  r.length = r.n_tokens = static_cast<int32_t>(it.tokens.size());
  r.status = TaskStatus::done;
  r.n_targets = static_cast<int32_t>(n_targets);
  const auto nt = static_cast<double>(n_targets);
  r.baseline_loss = base.loss;
  r.baseline_acc = static_cast<double>(base.correct) / nt;
  r.gain_bound_nats = base.gain_bound_nats;
  if (copy.second > 0) {
    r.copy_loss = copy.first.loss;
    r.copy_acc = static_cast<double>(copy.first.correct) / static_cast<double>(copy.second);
  }
  if (opt.max_steps > 0) {
    r.best_acc = static_cast<double>(tr.best_correct) / nt;
    r.best_loss = tr.best_loss;
    r.steps = static_cast<int32_t>(tr.steps);
    r.steps_to_best = static_cast<int32_t>(tr.best_step);
    r.token_gain = static_cast<int32_t>(tr.best_correct - base.correct);
    r.steps_to_acc95 = static_cast<int32_t>(tr.reached[0]);
    r.steps_to_acc99 = static_cast<int32_t>(tr.reached[1]);
    r.steps_to_acc100 = static_cast<int32_t>(tr.reached[2]);
  } else {  // baseline-only row: no mem, so the "best" is the baseline itself
    r.best_acc = r.baseline_acc;
    r.best_loss = r.baseline_loss;
  }
  r.converged = r.best_acc >= opt.target_accuracy;
  r.info_gain_nats = (r.baseline_loss - r.best_loss) * nt;
  r.info_gain_bits = r.info_gain_nats / std::log(2.0);
  r.wall_seconds = tr.wall;
  r.rank = settings.rank;
  r.device = settings.device;
  r.curve_loss = std::move(tr.curve_loss);
  r.curve_acc = std::move(tr.curve_acc);
  out.best_mem = tr.best_mem;
  out.stop_m = tr.stop_m;
  out.stop_v = tr.stop_v;
  out.stop_updates = tr.stop_updates;
  if (settings.save_memory && tr.best_mem.defined()) {
    // A stored one-step mem holds the whole carrier's vectors: e_1..e_k, then m.
    const int64_t d = tr.best_mem.size(1);
    auto m = (shared_m.defined() ? torch::cat({tr.best_mem, shared_m.cpu().view({1, d})}) : tr.best_mem).contiguous();
    r.memory.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    r.d_model = static_cast<int32_t>(d);
  }
}

}  // namespace

std::vector<CramOutcome> cram_batch(CausalLM& model, const std::vector<CramItem>& items,
                                    const CramSettings& settings) {
  if (items.empty()) return {};
  if (auto parts = in_micro_batches(model, items, settings)) return std::move(*parts);
  const auto& cfg = settings.cram;
  const bool all_targets = first_token_scored(cfg);
  check_items(model, items, cfg, all_targets);
  const int64_t chunk = settings.batching.head_chunk;
  std::vector<std::vector<int32_t>> texts, contexts;
  for (const auto& it : items) {
    texts.push_back(it.tokens);
    contexts.push_back(it.context);
  }
  // Baselines first: they need no mem.
  const auto t0 = Clock::now();
  const auto base = compute_baselines(model, texts, all_targets, chunk, contexts);
  const auto copy = in_context_controls(model, items, chunk);
  const double base_share = seconds_since(t0) / static_cast<double>(items.size());

  std::vector<Track> track(items.size());
  std::vector<int64_t> n_targets(items.size());
  for (size_t b = 0; b < items.size(); ++b) {
    track[b].wall = base_share;
    n_targets[b] = static_cast<int64_t>(texts[b].size()) - (all_targets ? 0 : 1);
  }
  std::vector<CramOutcome> out(items.size());
  torch::Tensor shared_m;  // [d] f32 on the device (cram.one_step shared)
  if (cfg.optimizer.max_steps > 0) {
    CramLoop loop(model, items, settings, n_targets, track);
    loop.run();
    shared_m = loop.shared_m();
    check_best_mems(model, items, settings, shared_m, n_targets, track, out);
  }
  for (size_t b = 0; b < items.size(); ++b)
    fill_outcome(items[b], track[b], base[b], copy[b], n_targets[b], settings, shared_m, out[b]);
  return out;
}

}  // namespace crammer
