// The tensor operations of cramming: mem init, AdamW on [B, k, d], the chunked LM-head/CE step
// with its hand-written gradient, baselines and greedy decode. Not for: the step loop
// (engine.cpp) or task grouping and capacity search (cram.cpp).
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "crammer/cram/ops.hpp"
#include "crammer/cram/lr_schedule.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t mem_seed(const std::string& task_key, uint64_t run_seed) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a over the key bytes: platform independent
  for (unsigned char c : task_key) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  // The CPU generator keeps 32 bits of its seed; fold the high half in so both count.
  uint64_t s = splitmix64(h ^ splitmix64(run_seed));
  return (s ^ (s >> 32)) & 0xFFFFFFFFull;
}

torch::Tensor to_device(const std::vector<int64_t>& values, torch::Device device) {
  return torch::tensor(values, torch::dtype(torch::kInt64)).to(device);
}

torch::Tensor to_device(const std::vector<float>& values, torch::Device device) {
  return torch::tensor(values, torch::dtype(torch::kFloat32)).to(device);
}

torch::Tensor init_mem(const std::string& task_key, uint64_t run_seed, int64_t k, int64_t d,
                       double init_std) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(mem_seed(task_key, run_seed));
  return torch::randn({k, d}, gen, torch::dtype(torch::kFloat32)) * init_std;  // [k, d]
}

AdamWState adamw_init(const torch::Tensor& param) {
  AdamWState s;
  s.m = torch::zeros_like(param);
  s.v = torch::zeros_like(param);
  return s;
}

void AdamWState::keep(const torch::Tensor& keep_index) {
  m = m.index_select(0, keep_index);
  v = v.index_select(0, keep_index);
  if (!carried.empty()) {
    auto idx = keep_index.cpu();
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < idx.size(0); ++i) kept.push_back(carried.at(static_cast<size_t>(idx[i].item<int64_t>())));
    carried = std::move(kept);
  }
}

namespace {

// AdamW with each sample's own update count (AdamWState::carried): the learning rate and the
// bias corrections become [B, 1, ...] factors.
void adamw_step_carried(torch::Tensor& param, const torch::Tensor& grad, AdamWState& state,
                        const OptimizerConfig& opt) {
  const auto B = static_cast<int64_t>(state.carried.size());
  std::vector<float> decay(B), step_size(B), root_bc2(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t t = state.updates(b);  // updates before this one
    const double lr = scheduled_lr(opt, t);
    decay[b] = static_cast<float>(1.0 - lr * opt.weight_decay);
    step_size[b] = static_cast<float>(lr / (1.0 - std::pow(opt.beta1, static_cast<double>(t + 1))));
    root_bc2[b] = static_cast<float>(std::sqrt(1.0 - std::pow(opt.beta2, static_cast<double>(t + 1))));
  }
  state.step += 1;
  std::vector<int64_t> shape(static_cast<size_t>(param.dim()), 1);
  shape[0] = B;
  auto col = [&](std::vector<float>& x) {
    return to_device(x, param.device()).view(shape);
  };
  param.mul_(col(decay));
  state.m.mul_(opt.beta1).add_(grad, 1.0 - opt.beta1);
  state.v.mul_(opt.beta2).addcmul_(grad, grad, 1.0 - opt.beta2);
  auto denom = (state.v.sqrt() / col(root_bc2)).add_(opt.eps);
  param.sub_(state.m / denom * col(step_size));
}

}  // namespace

void adamw_step(torch::Tensor& param, const torch::Tensor& grad, AdamWState& state,
                const OptimizerConfig& opt) {
  at::NoGradGuard no_grad;
  if (!state.carried.empty()) return adamw_step_carried(param, grad, state, opt);
  const double lr = scheduled_lr(opt, state.step);  // state.step updates came before this one
  state.step += 1;
  const double bc1 = 1.0 - std::pow(opt.beta1, static_cast<double>(state.step));
  const double bc2 = 1.0 - std::pow(opt.beta2, static_cast<double>(state.step));
  // Same order of operations as torch.optim.AdamW (single-tensor path).
  param.mul_(1.0 - lr * opt.weight_decay);
  state.m.mul_(opt.beta1).add_(grad, 1.0 - opt.beta1);
  state.v.mul_(opt.beta2).addcmul_(grad, grad, 1.0 - opt.beta2);
  auto denom = (state.v.sqrt() / std::sqrt(bc2)).add_(opt.eps);
  param.addcdiv_(state.m, denom, -lr / bc1);
}

HeadTargets make_head_targets(const std::vector<std::vector<int64_t>>& targets,
                              const std::vector<int64_t>& first, int64_t T, torch::Device device,
                              int64_t first_tokens, double first_weight) {
  HeadTargets h;
  h.batch = static_cast<int64_t>(targets.size());
  h.seq = T;
  std::vector<int64_t> rows, tgt, sample;
  std::vector<float> weights, grad_weights;
  const bool weighted = first_tokens > 0 && first_weight != 1.0;
  for (int64_t b = 0; b < h.batch; ++b) {
    const auto& t = targets[b];
    const float w = t.empty() ? 0.f : 1.f / static_cast<float>(t.size());
    for (size_t i = 0; i < t.size(); ++i) {
      rows.push_back(b * T + first[b] + static_cast<int64_t>(i));
      tgt.push_back(t[i]);
      sample.push_back(b);
      weights.push_back(w);
      if (weighted)
        grad_weights.push_back(static_cast<int64_t>(i) < first_tokens ? static_cast<float>(first_weight * w) : w);
    }
  }
  h.rows = to_device(rows, device);
  h.targets = to_device(tgt, device);
  h.sample = to_device(sample, device);
  h.weights = to_device(weights, device);
  if (weighted) h.grad_weights = to_device(grad_weights, device);
  return h;
}

torch::Tensor argmax_gain(const torch::Tensor& probs, const torch::Tensor& target, const torch::Tensor& log_p) {
  const int64_t V = probs.size(1);
  auto p = probs.gather(1, target);                                        // [R, 1]
  auto others = probs.scatter(1, target, 0.0f);                            // [R, V]
  auto sorted = std::get<0>(others.sort(1, /*descending=*/true));          // [R, V]
  auto count = torch::arange(2, V + 2, probs.options());                   // [V]: k + 1
  auto level = (sorted.cumsum(1) + p) / count;                             // [R, V]
  auto lifted = std::get<0>(level.max(1)).clamp_min(p.squeeze(1));         // [R]
  auto leads = sorted.select(1, 0) <= p.squeeze(1);                        // [R]
  auto gain = (lifted.log() - log_p).clamp_min(0.0);
  return gain.masked_fill(leads, 0.0);
}

HeadOutput chunked_head(CausalLM& model, const torch::Tensor& hidden, const HeadTargets& targets,
                        int64_t chunk, bool want_grad, bool want_bound) {
  at::NoGradGuard no_grad;
  const int64_t B = targets.batch, T = targets.seq, d = hidden.size(2);
  auto flat = hidden.detach().reshape({B * T, d}).index_select(0, targets.rows);  // [R, d]
  const int64_t R = flat.size(0);
  auto device = hidden.device();
  HeadOutput out;
  out.loss = torch::zeros({B}, torch::dtype(torch::kFloat32).device(device));
  out.correct = torch::zeros({B}, torch::dtype(torch::kInt64).device(device));
  if (want_bound) out.gain_bound = torch::zeros({B}, torch::dtype(torch::kFloat32).device(device));
  torch::Tensor W = model.head_weight();  // [V, d]
  const int64_t V = W.size(0);
  torch::Tensor grad_rows;
  if (want_grad) grad_rows = torch::empty({R, d}, hidden.options());  // [R, d]
  chunk = std::max<int64_t>(1, std::min(chunk, R));
  // One f32 logits buffer for every chunk: a fresh [chunk, V] per chunk would be a fresh mmap
  // (and page faults) per chunk once it exceeds malloc's mmap threshold.
  auto buf = torch::empty({chunk, V}, torch::dtype(torch::kFloat32).device(device));  // [chunk, V]
  const bool f32 = W.scalar_type() == torch::kFloat32;
  const double softcap = model.final_logit_softcap();
  for (int64_t c0 = 0; c0 < R; c0 += chunk) {
    const int64_t c = std::min(chunk, R - c0);
    auto h = flat.narrow(0, c0, c);                               // [c, d]
    auto tgt = targets.targets.narrow(0, c0, c).unsqueeze(1);     // [c, 1]
    auto w = targets.weights.narrow(0, c0, c);                    // [c]
    auto smp = targets.sample.narrow(0, c0, c);                   // [c]
    auto logits = buf.narrow(0, 0, c);                            // [c, V] f32
    if (f32) {
      at::mm_out(logits, h, W.t());
    } else {
      logits.copy_(at::mm(h, W.t()));  // bf16 GEMM, f32 softmax
    }
    // gemma's soft cap z' = cap * tanh(z / cap): dz'/dz = 1 - (z' / cap)^2, kept for the gradient.
    torch::Tensor dcap;                                           // [c, V], softcap only
    if (softcap > 0) {
      logits.div_(softcap).tanh_();
      if (want_grad) dcap = 1 - logits.square();
      logits.mul_(softcap);
    }
    auto tgt_logit = logits.gather(1, tgt).squeeze(1);            // [c]
    auto [mx, arg] = logits.max(1, /*keepdim=*/true);             // [c, 1] each: one pass
    // In place from here: logits -> exp(logits - max).
    auto e = logits.sub_(mx).exp_();                              // [c, V]
    auto sum = e.sum(1, /*keepdim=*/true);                        // [c, 1]
    auto lse = (mx + sum.log()).squeeze(1);                       // [c]
    auto ce = lse - tgt_logit;                                    // [c]
    auto hit = arg.squeeze(1).eq(tgt.squeeze(1)).to(torch::kInt64);  // [c]
    out.loss.index_add_(0, smp, ce * w);
    out.correct.index_add_(0, smp, hit);
    if (want_bound) out.gain_bound.index_add_(0, smp, argmax_gain(e / sum, tgt, tgt_logit - lse));
    if (want_grad) {
      // d(w * CE)/d h = w * (softmax - onehot) @ W = (e @ W) * (w / sum) - w * W[target]:
      // scaling the [c, d] product instead of the [c, V] probabilities saves two passes over V.
      // Soft-capped: both terms carry the cap's derivative, e * dcap and dcap[target].
      auto wc = (targets.grad_weights.defined() ? targets.grad_weights.narrow(0, c0, c) : w).unsqueeze(1);  // [c, 1]
      auto g = grad_rows.narrow(0, c0, c);                                   // [c, d]
      auto w_tgt = W.index_select(0, tgt.squeeze(1)).to(torch::kFloat32);    // [c, d]
      if (dcap.defined()) {
        e.mul_(dcap);
        w_tgt.mul_(dcap.gather(1, tgt));
      }
      if (f32) {
        at::mm_out(g, e, W);
        g.mul_(wc / sum).sub_(w_tgt.mul_(wc));
      } else {
        g.copy_(e.to(W.scalar_type()).mm(W).to(torch::kFloat32).mul_(wc / sum).sub_(w_tgt.mul_(wc)));
      }
    }
  }
  if (want_grad) {
    auto g = torch::zeros({B * T, d}, hidden.options());  // [B*T, d]
    g.index_copy_(0, targets.rows, grad_rows);
    out.grad_hidden = g.view({B, T, d});
  }
  return out;
}

namespace {

// Right-pads id rows into [B, T] int64 (pad id 0: pads sit after every real token, so causal
// attention keeps them out of every scored position).
torch::Tensor pad_ids(const std::vector<std::vector<int64_t>>& rows, int64_t T,
                      torch::Device device) {
  const auto B = static_cast<int64_t>(rows.size());
  auto ids = torch::zeros({B, T}, torch::dtype(torch::kInt64));
  auto acc = ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t i = 0; i < rows[b].size(); ++i) acc[b][static_cast<int64_t>(i)] = rows[b][i];
  return ids.to(device);
}

torch::Device model_device(CausalLM& model) { return model.embedding_weight().device(); }

}  // namespace

std::vector<Baseline> compute_baselines(CausalLM& model,
                                        const std::vector<std::vector<int32_t>>& texts,
                                        bool predict_first_token, int64_t chunk,
                                        const std::vector<std::vector<int32_t>>& contexts) {
  at::NoGradGuard no_grad;
  const auto B = static_cast<int64_t>(texts.size());
  std::vector<Baseline> out(texts.size());
  if (B == 0) return out;
  const auto& spec = model.spec();
  std::optional<int64_t> start_token = spec.bos_token_id ? spec.bos_token_id : spec.eos_token_id;
  std::vector<std::vector<int64_t>> inputs(texts.size()), targets(texts.size());
  std::vector<int64_t> first(texts.size(), 0);
  std::vector<bool> guess(texts.size(), false);  // t_1 scored with nothing before it
  int64_t T = 1;
  for (int64_t b = 0; b < B; ++b) {
    const auto& t = texts[b];
    // What stands before t_1: the context, else (to predict t_1) the start token.
    if (!contexts.empty() && !contexts[b].empty()) {
      inputs[b].assign(contexts[b].begin(), contexts[b].end());
    } else if (predict_first_token && start_token) {
      inputs[b].push_back(*start_token);
    }
    const auto before = static_cast<int64_t>(inputs[b].size());
    const bool predict_t1 = predict_first_token && before > 0;
    guess[b] = predict_first_token && before == 0;
    // Inputs t_1..t_{N-1}: t_N predicts nothing.
    for (size_t i = 0; i + 1 < t.size(); ++i) inputs[b].push_back(t[i]);
    for (size_t i = predict_t1 ? 0 : 1; i < t.size(); ++i) targets[b].push_back(t[i]);
    first[b] = predict_t1 ? before - 1 : before;
    T = std::max<int64_t>(T, static_cast<int64_t>(inputs[b].size()));
  }
  auto device = model_device(model);
  auto ids = pad_ids(inputs, T, device);               // [B, T]
  auto hidden = model.forward(model.embed(ids));        // [B, T, d]
  auto ht = make_head_targets(targets, first, T, device);
  auto res = chunked_head(model, hidden, ht, chunk, /*want_grad=*/false, /*want_bound=*/true);
  auto loss = res.loss.cpu();
  auto correct = res.correct.cpu();
  auto bound = res.gain_bound.cpu();
  const double uniform = std::log(static_cast<double>(spec.vocab_size));
  for (int64_t b = 0; b < B; ++b) {
    const auto n_scored = static_cast<double>(targets[b].size());
    double sum = loss[b].item<double>() * n_scored;
    double n = n_scored;
    if (guess[b]) {  // t_1 has no context at all: a uniform guess
      sum += uniform;
      n += 1;
    }
    out[b].loss = n > 0 ? sum / n : 0.0;
    out[b].correct = correct[b].item<int64_t>();
    out[b].gain_bound_nats = bound[b].item<double>();
  }
  return out;
}

GreedyDecode greedy_decode(CausalLM& model, const torch::Tensor& mem, const std::vector<std::vector<int32_t>>& texts,
                           bool predict_first_token, const std::vector<std::vector<int32_t>>& contexts) {
  at::NoGradGuard no_grad;
  const auto B = static_cast<int64_t>(texts.size());
  GreedyDecode out;
  out.prefix.assign(texts.size(), 0);
  out.matches.assign(texts.size(), 0);
  out.tokens.assign(texts.size(), {});
  if (B == 0) return out;
  auto device = model_device(model);
  auto dtype = model.embedding_weight().scalar_type();
  const size_t skip = predict_first_token ? 0 : 1;  // targets start at t_1 or t_2
  std::vector<bool> exact(texts.size());  // no mistake so far
  size_t longest = 0;
  for (int64_t b = 0; b < B; ++b) {
    exact[b] = texts[b].size() > skip;
    longest = std::max(longest, texts[b].size() > skip ? texts[b].size() - skip : 0);
  }
  auto embeds = mem.to(device, dtype);  // [B, k, d]
  // The prompt after the mem: the context, then t_1 when it is input; one length for all.
  const size_t C = contexts.empty() ? 0 : contexts.front().size();
  std::vector<int64_t> prompt;
  for (int64_t b = 0; b < B; ++b) {
    if (C > 0) {
      if (contexts[b].size() != C)
        throw std::invalid_argument("greedy_decode: contexts of " + std::to_string(contexts[b].size()) + " and " +
                                    std::to_string(C) + " tokens in one batch");
      prompt.insert(prompt.end(), contexts[b].begin(), contexts[b].end());
    }
    if (!predict_first_token) prompt.push_back(texts[b].empty() ? 0 : texts[b][0]);
  }
  const auto P = static_cast<int64_t>(prompt.size()) / B;
  if (P > 0) {
    auto ids = to_device(prompt, device).view({B, P});
    embeds = torch::cat({embeds, model.embed(ids)}, 1);  // [B, k + P, d]
  }
  KVCache cache;
  auto hidden = model.forward_cached(embeds, cache);  // [B, T0, d]
  for (size_t j = 0; j < longest; ++j) {
    auto last = hidden.select(1, hidden.size(1) - 1);            // [B, d]
    auto pred = model.lm_head(last).argmax(1);                    // [B]
    auto pred_cpu = pred.cpu();
    auto p = pred_cpu.accessor<int64_t, 1>();
    for (int64_t b = 0; b < B; ++b) {
      const size_t pos = skip + j;
      if (pos >= texts[b].size()) continue;
      const bool right = p[b] == texts[b][pos];
      out.tokens[b].push_back(static_cast<int32_t>(p[b]));
      out.matches[b] += right ? 1 : 0;
      exact[b] = exact[b] && right;
      out.prefix[b] += exact[b] ? 1 : 0;
    }
    if (j + 1 == longest) break;
    hidden = model.forward_cached(model.embed(pred.unsqueeze(1)), cache);  // [B, 1, d]
  }
  return out;
}

}  // namespace crammer
