// Tests of cram.loss (hidden_alignment.hpp, make_head_targets' first-target weights): which
// states are aligned, the first update under each term against an autograd recomputation
// written here, batched == one by one. (forward_states per family: test_architectures.cpp.)
#include <gtest/gtest.h>

#include <cmath>

#include "cram_test_util.hpp"
#include "crammer/cram/hidden_alignment.hpp"

namespace crammer {
namespace {

using test::make_task;

TEST(LossTerms, AlignedStatesAreTheFirstOrTheLastN) {
  EXPECT_EQ(aligned_states(5, 2, false), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(aligned_states(5, 2, true), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(aligned_states(5, 0, true), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(aligned_states(5, 9, false), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

// Step 0's loss is the plain mean CE of the init; step 1's is after one AdamW update on the
// objective with the terms, recomputed here: weighted CE over full logits, and the alignment
// term from forward_states of the text alone and of [mem] + the whole text.
void expect_first_step(const LossConfig& terms) {
  auto& f = test::austen_llama();
  const int64_t k = 2, d = 256, n = 11;
  auto s = test::quick_settings(1);
  s.cram.loss = terms;
  s.curves_every = 1;
  s.cram.decode_check = false;
  auto rows = cram_tasks(*f.model, {make_task("terms", f.text, n, k)}, s);
  ASSERT_EQ(rows.at(0).status, TaskStatus::done) << rows[0].error;
  ASSERT_EQ(rows[0].curve_loss.size(), 2u);

  at::NoGradGuard off;
  const double init_std = f.model->embedding_weight().to(torch::kFloat32).std().item<double>();
  auto mem = init_mem("terms", s.seed, k, d, init_std);
  std::vector<int64_t> ids(f.text.begin(), f.text.begin() + n);
  auto text = f.model->embed(torch::tensor(ids).unsqueeze(0));  // [1, n, d], t_N included
  auto targets = torch::tensor(std::vector<int64_t>(ids.begin() + 1, ids.end()));
  const auto target_states = f.model->forward_states(text);
  auto ce_of = [&](const torch::Tensor& hidden) {  // [n - 1] per target
    auto logits = torch::matmul(hidden[0].slice(0, k, k + n - 1), f.model->head_weight().t());
    return -torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).squeeze(1);
  };
  auto p = mem.clone();
  torch::Tensor loss0;
  {
    at::AutoGradMode on(true);
    p.requires_grad_(true);
    auto states = f.model->forward_states(torch::cat({p.unsqueeze(0), text}, 1));
    auto ce = ce_of(states.back());
    loss0 = ce.mean();
    auto w = torch::ones_like(ce);
    w.slice(0, 0, std::min<int64_t>(terms.first_tokens, n - 1)).fill_(terms.first_weight);
    auto objective = (ce * w).sum() / static_cast<double>(n - 1);
    if (terms.align_alpha > 0) {
      auto chosen = aligned_states(static_cast<int64_t>(states.size()), terms.align_layers, terms.align_from == "last");
      for (int64_t i : chosen) {
        auto h = states[i][0].slice(0, k), t = target_states[i][0];
        torch::Tensor dist = terms.align_distance == "l1"       ? (h - t).abs().sum(1)
                             : terms.align_distance == "cosine" ? 1 - torch::cosine_similarity(h, t, 1)
                                                                : (h - t).square().sum(1).sqrt();
        objective = objective + terms.align_alpha * dist.mean();
      }
    }
    objective.backward();
  }
  EXPECT_NEAR(rows[0].curve_loss[0], loss0.item<double>(), 1e-5);
  const auto& o = s.cram.optimizer;
  auto next = test::adamw_first_step(p, p.grad(), o).unsqueeze(0);
  const double loss1 = ce_of(f.model->forward(torch::cat({next, text}, 1))).mean().item<double>();
  EXPECT_NEAR(rows[0].curve_loss[1], loss1, 1e-4 * std::max(1.0, loss1));
}

TEST(LossTerms, FirstStepUnderEachTermEqualsAnAutogradRecomputation) {
  LossConfig first;
  first.first_tokens = 3;
  first.first_weight = 5.0;
  expect_first_step(first);
  for (const char* distance : {"l2", "l1", "cosine"}) {
    SCOPED_TRACE(distance);
    LossConfig align;
    align.align_alpha = 0.3;
    align.align_distance = distance;
    expect_first_step(align);
    align.align_layers = 2;
    align.align_from = "last";
    expect_first_step(align);
  }
}

// The terms change the path: same model and text, another first update than the plain CE's.
TEST(LossTerms, TermsChangeTheUpdate) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(1);
  s.curves_every = 1;
  s.cram.decode_check = false;
  const auto plain = cram_tasks(*f.model, {make_task("x", f.text, 9)}, s).at(0);
  s.cram.loss.align_alpha = 0.5;
  const auto aligned = cram_tasks(*f.model, {make_task("x", f.text, 9)}, s).at(0);
  EXPECT_DOUBLE_EQ(plain.curve_loss[0], aligned.curve_loss[0]);
  EXPECT_NE(plain.curve_loss[1], aligned.curve_loss[1]);
}

// Padding: texts of different lengths in one batch give the rows each gives alone.
TEST(LossTerms, BatchedEqualsOneByOne) {
  auto& f = test::austen_llama();
  std::vector<Task> tasks = {make_task("a", f.text, 5, 2, 0), make_task("b", f.text, 14, 2, 1),
                             make_task("c", test::fold_ids(test::random_ids(9, 512, 3), 512), 9, 2, 2)};
  auto s = test::quick_settings(30);
  s.cram.loss.first_tokens = 2;
  s.cram.loss.first_weight = 3;
  s.cram.loss.align_alpha = 0.1;
  s.cram.loss.align_distance = "cosine";
  test::expect_batched_equals_alone(*f.model, tasks, s);
}

}  // namespace
}  // namespace crammer
