// The step loop of one cramming batch (cram_loop.hpp).
#include "cram_loop.hpp"

#include <algorithm>

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include "crammer/cram/mem_init.hpp"
#include "crammer/cram/one_step.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"

namespace crammer {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

CramLoop::CramLoop(CausalLM& model, const std::vector<CramItem>& items, const CramSettings& settings,
                   const std::vector<int64_t>& n_targets, std::vector<Track>& track)
    : model_(model),
      items_(items),
      settings_(settings),
      cfg_(settings.cram),
      n_targets_(n_targets),
      track_(track),
      k_(items.front().n_mem),
      d_(embedding_dim(model.spec())),  // [mem] vectors live where inputs_embeds do
      one_step_(one_step_on(settings.cram)),
      // The alignment term compares the states of every text token, t_N included (progressive
      // cramming feeds the whole text); t_N's output is still scored by nothing.
      align_(settings.cram.loss.align_alpha > 0),
      device_(model.embedding_weight().device()),
      dtype_(model.embedding_weight().scalar_type()) {
  start();
  active_.resize(items.size());
  for (size_t b = 0; b < items.size(); ++b) active_[b] = static_cast<int64_t>(b);
  build();
}

// mem [B, k, d] f32 on the compute device, each sample from its own seed (cram.init), its
// warm start, or its low-rank (z, W, b); a progressive search's carried AdamW state.
void CramLoop::start() {
  const MemInit start(cfg_, model_.embedding_weight(), settings_.seed);
  const double init_std = start.randn_std();
  const int64_t rank = cfg_.mem_rank;
  if (rank > d_)
    throw ConfigError("cram.mem_rank " + std::to_string(rank) + " > " + std::to_string(d_) +
                      ", the width of the model's [mem] vectors");
  std::vector<torch::Tensor> init, init_w, init_b;
  for (const auto& it : items_) {
    if (rank > 0) {
      if (it.warm_mem.defined())
        throw ConfigError("cram task " + it.key + ": a warm-start mem has no (z, W, b) of cram.mem_rank " +
                          std::to_string(rank));
      auto lr = init_low_rank(it.key, settings_.seed, k_, d_, rank, init_std);
      init.push_back(lr.z);
      init_w.push_back(lr.w);
      init_b.push_back(lr.b);
      continue;
    }
    torch::Tensor text_embeds;  // [L, d], for an init from the text
    if (!it.warm_mem.defined() && start.needs_text()) {
      at::NoGradGuard no_grad;
      const std::vector<int64_t> ids(it.tokens.begin(), it.tokens.end());
      text_embeds = model_.embed(torch::tensor(ids, torch::dtype(torch::kInt64)).unsqueeze(0).to(device_))[0];
    }
    init.push_back(it.warm_mem.defined() ? it.warm_mem.to(torch::kFloat32).cpu()
                                         : start.start(it.key, k_ + one_step_extra_rows(cfg_), d_, text_embeds));
  }
  if (cfg_.one_step == "shared") shared_m_ = one_step_shared_m(cfg_, start, d_).to(device_);
  params_ = rank > 0 ? MemParams::low_rank(torch::stack(init).to(device_), torch::stack(init_w).to(device_),
                                           torch::stack(init_b).to(device_))
                     : MemParams::full(torch::stack(init).to(device_));
  if (std::none_of(items_.begin(), items_.end(), [](const CramItem& it) { return it.warm_m.defined(); })) return;
  // Samples without a carried state start fresh beside those with one.
  std::vector<torch::Tensor> m, v;
  std::vector<int64_t> updates;
  for (const auto& it : items_) {
    const bool c = it.warm_m.defined();
    m.push_back(c ? it.warm_m.to(torch::kFloat32).cpu() : torch::zeros({k_, d_}));
    v.push_back(c ? it.warm_v.to(torch::kFloat32).cpu() : torch::zeros({k_, d_}));
    updates.push_back(c ? it.warm_updates : 0);
  }
  params_->carry(torch::stack(m).to(device_), torch::stack(v).to(device_), std::move(updates));
}

// The batch tensors of the active samples: the embedded [context, text] (one-step builds its
// carrier from mem at each step) and the scored positions.
void CramLoop::build() {
  at::NoGradGuard no_grad;
  const bool pft = cfg_.predict_first_token;
  const LossConfig& loss = cfg_.loss;
  std::vector<std::vector<int64_t>> ids, tg;
  std::vector<int64_t> first, text_begin, text_len;
  int64_t max_in = 1;
  for (auto b : active_) {
    const auto& t = items_[b].tokens;
    const auto& c = items_[b].context;
    if (one_step_) {
      tg.emplace_back(t.begin(), t.end());
      first.push_back(k_ - 1);
      max_in = std::max<int64_t>(max_in, static_cast<int64_t>(t.size()));
      continue;
    }
    ids.emplace_back(c.begin(), c.end());  // the context, input only
    // t_1..t_{N-1}: t_N predicts nothing (but has hidden states to align)
    ids.back().insert(ids.back().end(), t.begin(), t.end() - (align_ ? 0 : 1));
    tg.emplace_back(t.begin() + (pft ? 0 : 1), t.end());
    const auto before = k_ + static_cast<int64_t>(c.size());  // position of t_1
    first.push_back(pft ? before - 1 : before);
    text_begin.push_back(static_cast<int64_t>(c.size()));
    text_len.push_back(static_cast<int64_t>(t.size()));
    max_in = std::max<int64_t>(max_in, static_cast<int64_t>(ids.back().size()));
  }
  T_ = one_step_ ? k_ + max_in - 1 : k_ + max_in;
  targets_ = make_head_targets(tg, first, T_, device_, loss.first_tokens, loss.first_weight);
  if (one_step_) return;
  const auto B = static_cast<int64_t>(active_.size());
  auto pad = torch::zeros({B, max_in}, torch::dtype(torch::kInt64));
  auto acc = pad.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t i = 0; i < ids[b].size(); ++i) acc[b][static_cast<int64_t>(i)] = ids[b][i];
  text_emb_ = model_.embed(pad.to(device_));  // [B, T - k, d]
  if (align_) alignment_ = HiddenAlignment(model_, text_emb_, text_begin, text_len, k_, loss);
}

void CramLoop::run() {
  for (int64_t s = 0; step(s); ++s) {
  }
}

// One evaluation of every active sample, its books, the stop of those that are done, then one
// AdamW update of the rest. False once no sample is left.
bool CramLoop::step(int64_t step) {
  if (stop_requested()) throw Interrupted{};
  const auto t_step = Clock::now();
  const bool may_update = step < cfg_.optimizer.max_steps;
  auto mem = params_->mem(may_update);  // [B, k, d] f32
  auto embeds = one_step_ ? one_step_carrier(mem, shared_m_, k_, T_).to(dtype_)  // [B, T, d]
                          : torch::cat({mem.to(dtype_), text_emb_}, 1);
  torch::Tensor hidden, aligned;  // [B, T, d]; [B]
  if (align_) {
    const auto states = model_.forward_states(embeds);
    hidden = states.back();
    if (may_update) aligned = alignment_(states);
  } else {
    hidden = model_.forward(embeds);
  }
  auto head = chunked_head(model_, hidden, targets_, settings_.batching.head_chunk, may_update);
  const auto loss_cpu = head.loss.cpu();
  const auto correct_cpu = head.correct.cpu();
  const auto loss = loss_cpu.accessor<float, 1>();
  const auto correct = correct_cpu.accessor<int64_t, 1>();
  std::vector<int64_t> improved, keep, leave;  // positions j in active_
  for (size_t j = 0; j < active_.size(); ++j)
    record(step, j, loss[static_cast<int64_t>(j)], correct[static_cast<int64_t>(j)], improved, keep, leave);
  if (!keep.empty()) {
    if (aligned.defined())
      torch::autograd::backward({hidden, aligned.sum()}, {head.grad_hidden,
                                                          torch::full({}, cfg_.loss.align_alpha, aligned.options())});
    else
      torch::autograd::backward({hidden}, {head.grad_hidden});
  }
  aligned = hidden = embeds = torch::Tensor();  // the activations go before the update
  head = HeadOutput();
  at::NoGradGuard no_grad;
  remember_best(step, mem.detach(), improved);
  stop(leave);
  // Step time is shared by the samples that took part in it.
  const double share = seconds_since(t_step) / static_cast<double>(active_.size());
  for (auto b : active_) track_[b].wall += share;
  if (keep.empty()) return false;
  if (!leave.empty()) compact(keep);  // finished samples cost nothing more
  const auto t_update = Clock::now();
  params_->step(cfg_.optimizer);
  const double update_share = seconds_since(t_update) / static_cast<double>(active_.size());
  for (auto b : active_) track_[b].wall += update_share;
  return true;
}

void CramLoop::record(int64_t step, size_t j, double loss, int64_t correct, std::vector<int64_t>& improved,
                      std::vector<int64_t>& keep, std::vector<int64_t>& leave) {
  const auto b = active_[j];
  auto& tr = track_[b];
  const auto& opt = cfg_.optimizer;
  const int64_t n = n_targets_[b];
  // Integer percent comparisons: 0.95 * n in floating point may round either way.
  const int percents[3] = {95, 99, 100};
  for (int i = 0; i < 3; ++i)
    if (tr.reached[i] < 0 && correct * 100 >= percents[i] * n) tr.reached[i] = step;
  if (settings_.curves_every > 0 && step % settings_.curves_every == 0) {
    tr.curve_loss.push_back(static_cast<float>(loss));
    tr.curve_acc.push_back(static_cast<float>(correct) / static_cast<float>(n));
  }
  // Best: higher accuracy, ties broken by lower loss (info gain uses best_loss); patience
  // counts steps since accuracy last went strictly up.
  if (correct > tr.best_correct) tr.last_gain_step = step;
  if (correct > tr.best_correct || (correct == tr.best_correct && loss < tr.best_loss)) {
    tr.best_correct = correct;
    tr.best_loss = loss;
    tr.best_step = step;
    improved.push_back(static_cast<int64_t>(j));
  }
  const double acc = static_cast<double>(tr.best_correct) / static_cast<double>(n);
  tr.steps = step;
  const bool done = acc >= opt.target_accuracy || step >= opt.max_steps ||
                    (opt.patience > 0 && step - tr.last_gain_step >= opt.patience);
  (done ? leave : keep).push_back(static_cast<int64_t>(j));
}

void CramLoop::remember_best(int64_t step, const torch::Tensor& mem, const std::vector<int64_t>& improved) {
  if (step == 0) {
    best_mem_ = mem.clone();
  } else if (!improved.empty()) {
    auto idx = torch::tensor(improved, torch::dtype(torch::kInt64)).to(device_);
    best_mem_.index_copy_(0, idx, mem.index_select(0, idx));
  }
}

void CramLoop::stop(const std::vector<int64_t>& leave) {
  for (auto j : leave) {
    auto& tr = track_[active_[j]];
    tr.best_mem = best_mem_[j].to(torch::kCPU, torch::kFloat32).clone();  // [k, d]
    if (cfg_.mem_rank == 0 && cfg_.carry_optimizer) {  // only a progressive search's next probe reads them
      const AdamWState& a = params_->adam();
      tr.stop_m = a.m[j].cpu().clone();
      tr.stop_v = a.v[j].cpu().clone();
      tr.stop_updates = a.updates(j);
    }
  }
}

void CramLoop::compact(const std::vector<int64_t>& keep) {
  auto idx = torch::tensor(keep, torch::dtype(torch::kInt64)).to(device_);
  params_->keep(idx);
  best_mem_ = best_mem_.index_select(0, idx);
  std::vector<int64_t> next;
  for (auto j : keep) next.push_back(active_[j]);
  active_ = std::move(next);
  build();
}

}  // namespace crammer
