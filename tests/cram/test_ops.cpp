// Unit tests of the cramming tensor operations against independent computations: chunked
// head vs full logits + autograd, AdamW vs torch::optim::AdamW, baselines vs naive scoring,
// cached greedy decode vs uncached, seeded mem init. Not for: the step loop (test_engine).
#include <gtest/gtest.h>

#include <torch/optim/adamw.h>

#include "cram_test_util.hpp"
#include "crammer/model/make_model.hpp"

namespace crammer {
namespace {

using test::tiny_model;
using test::tiny_spec;

// The lower bound's water level found another way: the target's new probability x solves
// x = p + sum_i max(0, s_i - x) over the other tokens (what they lose above x, it gains);
// the left side minus the right falls with x, so bisection on [p, 1] finds it. log(x / p).
double bisection_gain(const std::vector<double>& probs, size_t target) {
  const double p = probs[target];
  double top = 0;
  for (size_t i = 0; i < probs.size(); ++i)
    if (i != target) top = std::max(top, probs[i]);
  if (p >= top) return 0;
  double lo = p, hi = 1;
  for (int it = 0; it < 200; ++it) {
    const double x = 0.5 * (lo + hi);
    double moved = 0;
    for (size_t i = 0; i < probs.size(); ++i)
      if (i != target) moved += std::max(0.0, probs[i] - x);
    (p + moved > x ? lo : hi) = x;
  }
  return std::log(0.5 * (lo + hi) / p);
}

TEST(ArgmaxGain, HandWorkedWaterLevels) {
  auto probs = torch::tensor({0.5f, 0.3f, 0.2f}).repeat({3, 1});   // [3, 3]
  auto target = torch::tensor({2, 1, 0}, torch::dtype(torch::kInt64)).unsqueeze(1);  // [3, 1]
  auto log_p = probs.gather(1, target).squeeze(1).log();
  auto gain = argmax_gain(probs, target, log_p);
  // 0.2 rises to (0.2 + 0.5) / 2 = 0.35 (0.3 stays below); 0.3 to (0.3 + 0.5) / 2 = 0.4; 0.5 leads.
  EXPECT_NEAR(gain[0].item<double>(), std::log(0.35 / 0.2), 1e-6);
  EXPECT_NEAR(gain[1].item<double>(), std::log(0.4 / 0.3), 1e-6);
  EXPECT_EQ(gain[2].item<double>(), 0.0);
}

TEST(ArgmaxGain, EqualsBisectionOnRandomDistributions) {
  torch::manual_seed(4);
  const int64_t R = 40, V = 64;
  auto logits = torch::randn({R, V}) * torch::linspace(0.2, 6.0, R).unsqueeze(1);  // flat to peaked
  auto probs = logits.softmax(1);
  auto target = torch::randint(0, V, {R, 1}, torch::dtype(torch::kInt64));
  auto gain = argmax_gain(probs, target, logits.log_softmax(1).gather(1, target).squeeze(1));
  auto p64 = probs.to(torch::kFloat64);
  int lifted = 0;
  for (int64_t r = 0; r < R; ++r) {
    std::vector<double> row(p64[r].data_ptr<double>(), p64[r].data_ptr<double>() + V);
    const double want = bisection_gain(row, static_cast<size_t>(target[r][0].item<int64_t>()));
    EXPECT_NEAR(gain[r].item<double>(), want, 1e-4 * std::max(1.0, want)) << "row " << r;
    lifted += want > 0 ? 1 : 0;
  }
  EXPECT_GT(lifted, R / 2);  // most random targets do not lead: the bound is exercised
}

// Returns the largest |loss - loss without the logit soft cap| (0 for uncapped models).
double check_chunked_head(CausalLM* model) {
  torch::manual_seed(0);
  const int64_t B = 3, T = 9, d = 32;
  auto hidden = torch::randn({B, T, d}).requires_grad_(true);  // [B, T, d]
  // Unequal target counts per sample, starting at different positions.
  std::vector<std::vector<int64_t>> targets = {{5, 6, 7, 8, 9, 10, 11}, {1, 2}, {96, 0, 3, 3, 4}};
  std::vector<int64_t> first = {1, 0, 4};
  auto ht = make_head_targets(targets, first, T, torch::kCPU);

  // Reference: full [B, T, V] logits (soft-capped by lm_head where the model caps them), CE
  // via log_softmax, autograd for the gradient.
  auto logits = model->lm_head(hidden);  // [B, T, V]
  auto logp = torch::log_softmax(logits, 2);
  auto plain_logp = torch::log_softmax(torch::matmul(hidden, model->head_weight().t()), 2).detach();
  double cap_effect = 0;
  auto total = torch::zeros({});
  std::vector<double> ref_loss(B);
  std::vector<int64_t> ref_correct(B, 0);
  for (int64_t b = 0; b < B; ++b) {
    auto sum = torch::zeros({});
    for (size_t i = 0; i < targets[b].size(); ++i) {
      const int64_t pos = first[b] + static_cast<int64_t>(i);
      sum = sum - logp[b][pos][targets[b][i]];
      cap_effect = std::max(cap_effect, std::abs((logp[b][pos][targets[b][i]] - plain_logp[b][pos][targets[b][i]]).item<double>()));
      ref_correct[b] += logits[b][pos].argmax().item<int64_t>() == targets[b][i];
    }
    auto mean = sum / static_cast<double>(targets[b].size());
    ref_loss[b] = mean.item<double>();
    total = total + mean;
  }
  total.backward();
  auto ref_grad = hidden.grad().clone();

  for (int64_t chunk : {1, 4, 1000}) {
    auto out = chunked_head(*model, hidden, ht, chunk, /*want_grad=*/true);
    double max_diff = (out.grad_hidden - ref_grad).abs().max().item<double>();
    std::printf("chunk %lld: max |grad - ref| = %.3g\n", static_cast<long long>(chunk), max_diff);
    EXPECT_LT(max_diff, 1e-6);
    for (int64_t b = 0; b < B; ++b) {
      EXPECT_NEAR(out.loss[b].item<double>(), ref_loss[b], 1e-5);
      EXPECT_EQ(out.correct[b].item<int64_t>(), ref_correct[b]);
    }
  }
  return cap_effect;
}

TEST(ChunkedHead, MatchesFullLogitsLossAccuracyAndGradient) {
  auto model = tiny_model(tiny_spec("llama", 1, 32, 4, 97), 3);
  EXPECT_EQ(check_chunked_head(model.get()), 0.0);
}

// Gemma-2 caps its logits at 30 * tanh(z / 30): the loss and its gradient go through the cap.
TEST(ChunkedHead, SoftCappedLogitsMatchAutograd) {
  MakeModelOptions o;
  o.arch = "gemma2";
  o.layers = 1;
  o.d_model = 32;
  o.heads = 4;
  o.vocab_size = 97;
  o.out_dir = "unused";  // only the spec is made
  auto model = tiny_model(model_spec_from_options(o), 3, /*init_range=*/1.0);  // logits far past the cap's knee
  ASSERT_EQ(model->final_logit_softcap(), 30.0);
  EXPECT_GT(check_chunked_head(model.get()), 1e-2);
}

TEST(AdamW, StepEqualsTorchOptimAdamW) {
  torch::manual_seed(1);
  auto init = torch::randn({3, 2, 5});  // [B, k, d]
  OptimizerConfig opt;                   // lr 1e-2, betas 0.9/0.9, wd 0.01, eps 1e-8
  opt.lr = 0.05;                          // larger, so the comparison is not trivially close
  auto ours = init.clone();
  auto state = adamw_init(ours);
  auto ref = init.clone().requires_grad_(true);
  torch::optim::AdamW torch_opt({ref}, torch::optim::AdamWOptions(opt.lr)
                                           .betas({opt.beta1, opt.beta2})
                                           .eps(opt.eps)
                                           .weight_decay(opt.weight_decay));
  for (int step = 0; step < 6; ++step) {
    auto g = torch::randn({3, 2, 5}) * (step + 1);
    adamw_step(ours, g, state, opt);
    ref.mutable_grad() = g.clone();
    torch_opt.step();
  }
  double max_diff = (ours - ref.detach()).abs().max().item<double>();
  std::printf("max |ours - torch AdamW| after 6 steps = %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-6);
  EXPECT_GT((ours - init).abs().max().item<double>(), 0.1);  // it did move
  EXPECT_EQ(state.step, 6);

  // Compaction keeps the moments of the surviving rows.
  auto m1 = state.m[2].clone();
  state.keep(torch::tensor({2}, torch::dtype(torch::kInt64)));
  EXPECT_TRUE(torch::equal(state.m[0], m1));
}

TEST(MemInit, DependsOnKeyAndSeedOnly) {
  auto a = init_mem("task-a", 5, 2, 16, 0.5);
  auto b = init_mem("task-a", 5, 2, 16, 0.5);
  torch::manual_seed(123);  // the global generator plays no part
  auto c = init_mem("task-a", 5, 2, 16, 0.5);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, init_mem("task-b", 5, 2, 16, 0.5)));
  EXPECT_FALSE(torch::equal(a, init_mem("task-a", 6, 2, 16, 0.5)));
  EXPECT_NEAR(init_mem("x", 0, 64, 64, 0.5).std().item<double>(), 0.5, 0.03);
}

TEST(Baselines, MatchNaiveFullLogitsPerText) {
  auto spec = tiny_spec("gpt2", 2, 32, 4, 211);
  spec.bos_token_id = 210;
  auto model = tiny_model(spec, 4);
  std::vector<std::vector<int32_t>> texts = {test::random_ids(12, 211, 1),
                                             test::random_ids(3, 211, 2),
                                             test::random_ids(7, 211, 3)};
  for (bool pft : {false, true}) {
    auto base = compute_baselines(*model, texts, pft, 5);
    for (size_t b = 0; b < texts.size(); ++b) {
      const auto& t = texts[b];
      std::vector<int32_t> input = pft ? std::vector<int32_t>{210} : std::vector<int32_t>{};
      input.insert(input.end(), t.begin(), t.end() - 1);
      std::vector<int32_t> tg(t.begin() + (pft ? 0 : 1), t.end());
      auto s = test::naive_score(*model, model->embed(test::ids_tensor(input)), 0, tg);
      EXPECT_NEAR(base[b].loss, s.mean_ce, 1e-5) << "text " << b << " pft " << pft;
      EXPECT_EQ(base[b].correct, s.correct);
      // The lower bound from the full logits, position by position.
      at::NoGradGuard no_grad;
      auto logits = model->lm_head(model->forward(model->embed(test::ids_tensor(input)))[0]);  // [T, V]
      auto probs = logits.to(torch::kFloat64).softmax(1);
      double bound = 0;
      for (size_t i = 0; i < tg.size(); ++i) {
        std::vector<double> row(probs[static_cast<int64_t>(i)].data_ptr<double>(),
                                probs[static_cast<int64_t>(i)].data_ptr<double>() + 211);
        bound += bisection_gain(row, static_cast<size_t>(tg[i]));
      }
      EXPECT_NEAR(base[b].gain_bound_nats, bound, 1e-4 * std::max(1.0, bound)) << "text " << b;
      EXPECT_GT(bound, 0.0);
    }
  }
  // No BOS/EOS: t_1 counts as a uniform guess.
  auto spec2 = tiny_spec("gpt2", 1, 32, 4, 211);
  auto model2 = tiny_model(spec2, 4);
  auto off = compute_baselines(*model2, texts, false, 5);
  auto on = compute_baselines(*model2, texts, true, 5);
  for (size_t b = 0; b < texts.size(); ++b) {
    const double n = static_cast<double>(texts[b].size());
    EXPECT_NEAR(on[b].loss, (off[b].loss * (n - 1) + std::log(211.0)) / n, 1e-6);
    EXPECT_EQ(on[b].correct, off[b].correct);
  }
}

TEST(GreedyDecode, CachedEqualsUncachedGreedy) {
  auto model = tiny_model(tiny_spec("gpt_neox", 2, 32, 4, 50), 5, 0.2);
  // A text the random model generates itself (uncached greedy from mem + t_1), with its
  // third generated token replaced so that the prefix is exactly 2.
  torch::manual_seed(2);
  auto mem = torch::randn({1, 2, 32}) * 0.5;  // [1, k, d]
  std::vector<int32_t> text = {7};
  {
    at::NoGradGuard no_grad;
    for (int i = 0; i < 6; ++i) {
      auto embeds = torch::cat({mem, model->embed(test::ids_tensor(text))}, 1);
      auto h = model->forward(embeds);
      text.push_back(static_cast<int32_t>(model->lm_head(h[0][-1]).argmax().item<int64_t>()));
    }
  }
  auto broken = text;
  broken[3] = (broken[3] + 1) % 50;
  auto dec = greedy_decode(*model, torch::cat({mem, mem}), {text, broken}, false);
  EXPECT_EQ(dec.prefix[0], 6);  // all N-1 targets
  EXPECT_EQ(dec.prefix[1], 2);
  // Generation goes on past the mistake, fed its own tokens (the unbroken text): 5 of 6 right.
  EXPECT_EQ(dec.matches[0], 6);
  EXPECT_EQ(dec.matches[1], 5);
}

}  // namespace
}  // namespace crammer
