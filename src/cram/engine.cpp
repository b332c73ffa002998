// One batched cramming run (DESIGN §4): B texts of equal k, mem [B, k, d] trained with AdamW
// against a frozen model, per-sample stop, compaction of finished samples, then the metrics of
// DESIGN §2. Not for: grouping tasks into batches or capacity search (tasks.cpp).
//
// Step accounting: evaluation i (i = 0, 1, ...) scores the mem after i AdamW updates, before
// update i + 1. `steps` is the number of updates applied when the sample stopped and
// `steps_to_best` the number applied to reach the best mem, so a sample whose random init is
// already perfect has steps = steps_to_best = 0 and max_steps = M evaluates M + 1 mems.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include "crammer/cram/engine.hpp"
#include "crammer/cram/hidden_alignment.hpp"
#include "crammer/cram/mem_attention.hpp"
#include "crammer/cram/mem_init.hpp"
#include "crammer/cram/mem_params.hpp"
#include "crammer/cram/one_step.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"

namespace crammer {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

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

// Per-sample bookkeeping on the host.
struct Track {
  int64_t best_correct = -1;
  double best_loss = 0;
  int64_t best_step = 0;
  int64_t last_gain_step = 0;  // last step with a strictly better accuracy (patience)
  int64_t steps = 0;
  // First step whose accuracy reached 95 / 99 / 100 percent (-1: not yet).
  int64_t reached[3] = {-1, -1, -1};
  bool done = false;
  double wall = 0;
  std::vector<float> curve_loss, curve_acc;
  torch::Tensor best_mem;  // [k, d] f32 CPU, once finished
  torch::Tensor stop_m, stop_v;  // AdamW moments [k, d] f32 CPU when it stopped
  int64_t stop_updates = 0;
};

}  // namespace

int64_t cpu_micro_batch(int64_t positions, int64_t d_model, int threads) {
  const int64_t per_sample = std::max<int64_t>(1, positions * d_model * 4);  // f32 bytes
  return std::max<int64_t>(1, kCpuActivationBytesPerThread * std::max(1, threads) / per_sample);
}

std::vector<CramOutcome> cram_batch(CausalLM& model, const std::vector<CramItem>& items,
                                    const CramSettings& settings) {
  std::vector<CramOutcome> out(items.size());
  if (items.empty()) return out;
  // Samples are independent (own mem, own AdamW moments, own stop), so micro-batches run one
  // after another give the same rows as one batch.
  int64_t micro = settings.micro_batch;
  if (micro <= 0 && model.embedding_weight().device().is_cpu()) {
    size_t longest = 0;
    for (const auto& it : items) longest = std::max(longest, it.tokens.size());
    micro = cpu_micro_batch(items.front().n_mem + static_cast<int64_t>(items.front().context.size() + longest),
                            model.spec().hidden_size, at::get_num_threads());
  }
  if (micro > 0 && static_cast<int64_t>(items.size()) > micro) {
    CramSettings one = settings;
    one.micro_batch = micro;
    for (size_t i0 = 0; i0 < items.size(); i0 += static_cast<size_t>(micro)) {
      const size_t i1 = std::min(items.size(), i0 + static_cast<size_t>(micro));
      auto part = cram_batch(model, std::vector<CramItem>(items.begin() + i0, items.begin() + i1), one);
      std::move(part.begin(), part.end(), out.begin() + static_cast<std::ptrdiff_t>(i0));
    }
    return out;
  }
  const auto& cfg = settings.cram;
  const auto& opt = cfg.optimizer;
  const bool pft = cfg.predict_first_token;
  // One-step generation (one_step.hpp): the carrier [e, m, .., m] scores every token t_1..t_N.
  const bool one_step = one_step_on(cfg);
  const bool all_targets = first_token_scored(cfg);
  const LossConfig& loss_terms = cfg.loss;
  // The alignment term compares the states of every text token, t_N included (progressive
  // cramming feeds the whole text); t_N's output is still scored by nothing.
  const bool align = loss_terms.align_alpha > 0;
  check_items(model, items, cfg, all_targets);

  const auto B0 = static_cast<int64_t>(items.size());
  const int64_t k = items.front().n_mem;
  const int64_t d = embedding_dim(model.spec());  // [mem] vectors live where inputs_embeds do
  const int64_t chunk = settings.batching.head_chunk;
  auto emb_w = model.embedding_weight();
  const auto device = emb_w.device();
  const auto dtype = emb_w.scalar_type();

  std::vector<std::vector<int32_t>> texts, contexts;
  for (const auto& it : items) {
    texts.push_back(it.tokens);
    contexts.push_back(it.context);
  }

  // Baselines first: they need no mem.
  auto t0 = Clock::now();
  auto base = compute_baselines(model, texts, all_targets, chunk, contexts);
  // The in-context control: the text after its copy prompt instead of after [mem], one
  // forward each (prompts differ in length); scored as the baselines are, t_1 as input.
  std::vector<Baseline> copy(items.size());
  std::vector<int64_t> copy_targets(items.size(), 0);
  for (int64_t b = 0; b < B0; ++b) {
    const auto& it = items[b];
    if (it.copy_prompt.empty() || it.tokens.size() < static_cast<size_t>(it.copy_from) + 2) continue;
    std::vector<int32_t> copied(it.tokens.begin() + it.copy_from, it.tokens.end());
    copy_targets[b] = static_cast<int64_t>(copied.size()) - 1;
    copy[b] = compute_baselines(model, {copied}, /*predict_first_token=*/false, chunk, {it.copy_prompt}).front();
  }
  const double base_share = seconds_since(t0) / static_cast<double>(B0);

  std::vector<Track> track(items.size());
  for (auto& tr : track) tr.wall = base_share;
  std::vector<int64_t> n_targets(items.size());
  for (int64_t b = 0; b < B0; ++b)
    n_targets[b] = static_cast<int64_t>(texts[b].size()) - (all_targets ? 0 : 1);
  torch::Tensor shared_m;  // [d] f32 on the device (cram.one_step shared)

  if (opt.max_steps > 0) {
    // mem [B, k, d] f32 on the compute device; init from each task's own seed (cram.init).
    const MemInit start(cfg, emb_w, settings.seed);
    const double init_std = start.randn_std();
    const int64_t rank = cfg.mem_rank;
    if (rank > d)
      throw ConfigError("cram.mem_rank " + std::to_string(rank) + " > " + std::to_string(d) +
                        ", the width of the model's [mem] vectors");
    std::vector<torch::Tensor> init, init_w, init_b;
    for (const auto& it : items) {
      if (rank > 0) {
        if (it.warm_mem.defined())
          throw ConfigError("cram task " + it.key + ": a warm-start mem has no (z, W, b) of cram.mem_rank " +
                            std::to_string(rank));
        auto lr = init_low_rank(it.key, settings.seed, k, d, rank, init_std);
        init.push_back(lr.z);
        init_w.push_back(lr.w);
        init_b.push_back(lr.b);
      } else {
        torch::Tensor text_embeds;  // [L, d], for an init from the text
        if (!it.warm_mem.defined() && start.needs_text()) {
          at::NoGradGuard no_grad;
          const std::vector<int64_t> ids(it.tokens.begin(), it.tokens.end());
          text_embeds = model.embed(torch::tensor(ids, torch::dtype(torch::kInt64)).unsqueeze(0).to(device))[0];
        }
        init.push_back(it.warm_mem.defined() ? it.warm_mem.to(torch::kFloat32).cpu()
                                             : start.start(it.key, k + one_step_extra_rows(cfg), d, text_embeds));
      }
    }
    if (cfg.one_step == "shared") shared_m = one_step_shared_m(cfg, start, d).to(device);
    auto params = rank > 0 ? MemParams::low_rank(torch::stack(init).to(device), torch::stack(init_w).to(device),
                                                 torch::stack(init_b).to(device))
                           : MemParams::full(torch::stack(init).to(device));  // mem [B, k, d]
    // A progressive search's carried AdamW state; samples without one start fresh beside them.
    if (std::any_of(items.begin(), items.end(), [](const CramItem& it) { return it.warm_m.defined(); })) {
      std::vector<torch::Tensor> m, v;
      std::vector<int64_t> updates;
      for (const auto& it : items) {
        const bool c = it.warm_m.defined();
        m.push_back(c ? it.warm_m.to(torch::kFloat32).cpu() : torch::zeros({k, d}));
        v.push_back(c ? it.warm_v.to(torch::kFloat32).cpu() : torch::zeros({k, d}));
        updates.push_back(c ? it.warm_updates : 0);
      }
      params.carry(torch::stack(m).to(device), torch::stack(v).to(device), std::move(updates));
    }

    // Active samples (indices into items) and their batch tensors, rebuilt on compaction.
    std::vector<int64_t> active(items.size());
    for (int64_t b = 0; b < B0; ++b) active[b] = b;
    torch::Tensor text_emb;  // [B, T - k, d], constant
    HeadTargets targets;
    HiddenAlignment alignment;
    int64_t T = 0;
    auto build = [&]() {
      at::NoGradGuard no_grad;
      std::vector<std::vector<int64_t>> ids, tg;
      std::vector<int64_t> first, text_begin, text_len;
      int64_t max_in = 1;
      if (one_step) {  // the carrier is built from mem at each step: only the targets here
        for (auto b : active) {
          tg.emplace_back(texts[b].begin(), texts[b].end());
          first.push_back(k - 1);
          max_in = std::max<int64_t>(max_in, static_cast<int64_t>(texts[b].size()));
        }
        T = k + max_in - 1;
        targets = make_head_targets(tg, first, T, device, loss_terms.first_tokens, loss_terms.first_weight);
        return;
      }
      for (auto b : active) {
        const auto& t = texts[b];
        const auto& c = contexts[b];
        ids.emplace_back(c.begin(), c.end());                // the context, input only
        // t_1..t_{N-1}: t_N predicts nothing (but has hidden states to align)
        ids.back().insert(ids.back().end(), t.begin(), t.end() - (align ? 0 : 1));
        tg.emplace_back(t.begin() + (pft ? 0 : 1), t.end());
        const auto before = k + static_cast<int64_t>(c.size());  // position of t_1
        first.push_back(pft ? before - 1 : before);
        text_begin.push_back(static_cast<int64_t>(c.size()));
        text_len.push_back(static_cast<int64_t>(t.size()));
        max_in = std::max<int64_t>(max_in, static_cast<int64_t>(ids.back().size()));
      }
      const auto Bn = static_cast<int64_t>(active.size());
      auto pad = torch::zeros({Bn, max_in}, torch::dtype(torch::kInt64));
      auto acc = pad.accessor<int64_t, 2>();
      for (int64_t b = 0; b < Bn; ++b)
        for (size_t i = 0; i < ids[b].size(); ++i) acc[b][static_cast<int64_t>(i)] = ids[b][i];
      text_emb = model.embed(pad.to(device));  // [B, T - k, d]
      T = k + max_in;
      targets = make_head_targets(tg, first, T, device, loss_terms.first_tokens, loss_terms.first_weight);
      if (align) alignment = HiddenAlignment(model, text_emb, text_begin, text_len, k, loss_terms);
    };
    build();

    const int64_t max_steps = opt.max_steps;
    torch::Tensor best_mem;  // [B, k, d] f32, aligned with `active`
    for (int64_t step = 0; !active.empty(); ++step) {
      if (stop_requested()) throw Interrupted{};
      const auto t_step = Clock::now();
      const bool may_update = step < max_steps;
      auto mem = params.mem(may_update);                          // [B, k, d] f32
      auto embeds = one_step ? one_step_carrier(mem, shared_m, k, T).to(dtype)  // [B, T, d]
                             : torch::cat({mem.to(dtype), text_emb}, 1);
      torch::Tensor hidden, aligned;                               // [B, T, d]; [B]
      if (align) {
        const auto states = model.forward_states(embeds);
        hidden = states.back();
        if (may_update) aligned = alignment(states);
      } else {
        hidden = model.forward(embeds);
      }
      auto head = chunked_head(model, hidden, targets, chunk, may_update);
      auto loss_cpu = head.loss.cpu();
      auto correct_cpu = head.correct.cpu();
      auto lossa = loss_cpu.accessor<float, 1>();
      auto correcta = correct_cpu.accessor<int64_t, 1>();

      std::vector<int64_t> improved, keep, leave;  // positions j in `active`
      for (size_t j = 0; j < active.size(); ++j) {
        const auto b = active[j];
        auto& tr = track[b];
        const double loss = lossa[static_cast<int64_t>(j)];
        const int64_t correct = correcta[static_cast<int64_t>(j)];
        // Integer percent comparisons: 0.95 * n in floating point may round either way.
        const int percents[3] = {95, 99, 100};
        for (int i = 0; i < 3; ++i)
          if (tr.reached[i] < 0 && correct * 100 >= percents[i] * n_targets[b]) tr.reached[i] = step;
        if (settings.curves_every > 0 && step % settings.curves_every == 0) {
          tr.curve_loss.push_back(static_cast<float>(loss));
          tr.curve_acc.push_back(static_cast<float>(correct) / static_cast<float>(n_targets[b]));
        }
        // Best: higher accuracy, ties broken by lower loss (info gain uses best_loss);
        // patience counts steps since accuracy last went strictly up.
        if (correct > tr.best_correct) tr.last_gain_step = step;
        if (correct > tr.best_correct || (correct == tr.best_correct && loss < tr.best_loss)) {
          tr.best_correct = correct;
          tr.best_loss = loss;
          tr.best_step = step;
          improved.push_back(static_cast<int64_t>(j));
        }
        const double acc = static_cast<double>(tr.best_correct) / static_cast<double>(n_targets[b]);
        tr.steps = step;
        const bool stop = acc >= opt.target_accuracy || step >= max_steps ||
                          (opt.patience > 0 && step - tr.last_gain_step >= opt.patience);
        (stop ? leave : keep).push_back(static_cast<int64_t>(j));
      }

      if (!keep.empty()) {
        if (aligned.defined()) {
          torch::autograd::backward({hidden, aligned.sum()},
                                    {head.grad_hidden, torch::full({}, loss_terms.align_alpha, aligned.options())});
        } else {
          torch::autograd::backward({hidden}, {head.grad_hidden});
        }
      }
      aligned = torch::Tensor();
      hidden = torch::Tensor();
      embeds = torch::Tensor();

      at::NoGradGuard no_grad;
      mem = mem.detach();
      if (step == 0) {
        best_mem = mem.clone();
      } else if (!improved.empty()) {
        auto idx = torch::tensor(improved, torch::dtype(torch::kInt64)).to(device);
        best_mem.index_copy_(0, idx, mem.index_select(0, idx));
      }
      for (auto j : leave) {
        auto& tr = track[active[j]];
        tr.done = true;
        tr.best_mem = best_mem[j].to(torch::kCPU, torch::kFloat32).clone();  // [k, d]
        if (rank == 0 && cfg.carry_optimizer) {  // only a progressive search's next probe reads them
          const AdamWState& a = params.adam();
          tr.stop_m = a.m[j].cpu().clone();
          tr.stop_v = a.v[j].cpu().clone();
          tr.stop_updates = a.updates(j);
        }
      }
      // Step time is shared by the samples that took part in it.
      const double share = seconds_since(t_step) / static_cast<double>(active.size());
      for (auto b : active) track[b].wall += share;
      if (keep.empty()) break;

      if (!leave.empty()) {  // compaction: finished samples cost nothing more
        auto idx = torch::tensor(keep, torch::dtype(torch::kInt64)).to(device);
        params.keep(idx);
        best_mem = best_mem.index_select(0, idx);
        std::vector<int64_t> next;
        for (auto j : keep) next.push_back(active[j]);
        active = std::move(next);
        build();
      }
      const auto t_update = Clock::now();
      params.step(opt);
      const double update_share = seconds_since(t_update) / static_cast<double>(active.size());
      for (auto b : active) track[b].wall += update_share;
    }

    // Greedy decode from each best mem, all samples together.
    if (cfg.decode_check) {
      const auto t_dec = Clock::now();
      std::vector<torch::Tensor> mems;
      for (const auto& tr : track) mems.push_back(tr.best_mem);
      auto dec = one_step ? one_step_decode(model, torch::stack(mems), shared_m, k, texts)
                          : greedy_decode(model, torch::stack(mems), texts, pft, contexts);  // [B, k, d] in
      const double share = seconds_since(t_dec) / static_cast<double>(B0);
      for (int64_t b = 0; b < B0; ++b) {
        out[b].row.decode_prefix = dec.prefix[b];
        out[b].row.decode_exact = dec.prefix[b] == n_targets[b];
        out[b].row.decode_acc = static_cast<double>(dec.matches[b]) / static_cast<double>(n_targets[b]);
        track[b].wall += share;
      }
    }
    if (settings.attention_mass) {
      const auto t_att = Clock::now();
      std::vector<torch::Tensor> mems;
      for (const auto& tr : track) mems.push_back(tr.best_mem);
      auto mass = mem_attention_mass(model, mems, texts, contexts, k, one_step, shared_m);
      const double share = seconds_since(t_att) / static_cast<double>(B0);
      for (int64_t b = 0; b < B0; ++b) {
        out[b].row.mem_attention = std::move(mass[b]);
        track[b].wall += share;
      }
    }
  }

  for (int64_t b = 0; b < B0; ++b) {
    const auto& it = items[b];
    auto& tr = track[b];
    auto& r = out[b].row;
    r.task_key = it.key;
    r.model_index = it.model_index;
    r.sample_id = it.sample_id;
    r.n_mem = it.n_mem;
    r.restart = it.restart;
    r.n_bytes = it.n_bytes;
    r.length = static_cast<int32_t>(texts[b].size());
    r.status = TaskStatus::done;
    r.n_tokens = static_cast<int32_t>(texts[b].size());
    r.n_targets = static_cast<int32_t>(n_targets[b]);
    const auto nt = static_cast<double>(n_targets[b]);
    r.baseline_loss = base[b].loss;
    r.baseline_acc = static_cast<double>(base[b].correct) / nt;
    r.gain_bound_nats = base[b].gain_bound_nats;
    if (copy_targets[b] > 0) {
      r.copy_loss = copy[b].loss;
      r.copy_acc = static_cast<double>(copy[b].correct) / static_cast<double>(copy_targets[b]);
    }
    if (opt.max_steps > 0) {
      r.best_acc = static_cast<double>(tr.best_correct) / nt;
      r.best_loss = tr.best_loss;
      r.steps = static_cast<int32_t>(tr.steps);
      r.steps_to_best = static_cast<int32_t>(tr.best_step);
      r.token_gain = static_cast<int32_t>(tr.best_correct - base[b].correct);
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
    out[b].best_mem = tr.best_mem;
    out[b].stop_m = tr.stop_m;
    out[b].stop_v = tr.stop_v;
    out[b].stop_updates = tr.stop_updates;
    if (settings.save_memory && tr.best_mem.defined()) {
      // A stored one-step mem holds the whole carrier's vectors: e_1..e_k, then m.
      auto m = (shared_m.defined() ? torch::cat({tr.best_mem, shared_m.cpu().view({1, d})}) : tr.best_mem).contiguous();
      r.memory.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
      r.d_model = static_cast<int32_t>(d);
    }
  }
  return out;
}

}  // namespace crammer
