// Tests of one-step generation (cram.one_step, one_step.hpp): the carrier's layout, a crammed
// row's stored mem re-scored here by one naive forward of [e, m, .., m] built by hand (loss,
// accuracy and decode), the shared m, batched == one by one, and a warm start of the wrong shape.
#include <gtest/gtest.h>

#include <cmath>

#include "cram_test_util.hpp"
#include "crammer/cram/mem_init.hpp"
#include "crammer/cram/one_step.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using test::make_task;

TEST(OneStep, CarrierIsEThenCopiesOfM) {
  auto trained = torch::randn({2, 3, 4});  // k = 2, then m
  auto c = one_step_carrier(trained, {}, 2, 6);
  ASSERT_EQ(c.sizes(), (std::vector<int64_t>{2, 6, 4}));
  EXPECT_TRUE(torch::equal(c.narrow(1, 0, 2), trained.narrow(1, 0, 2)));
  for (int64_t t = 2; t < 6; ++t) EXPECT_TRUE(torch::equal(c.select(1, t), trained.select(1, 2))) << t;
  auto shared = torch::randn({4});
  auto e = torch::randn({2, 2, 4});
  auto cs = one_step_carrier(e, shared, 2, 3);
  ASSERT_EQ(cs.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(torch::equal(cs.narrow(1, 0, 2), e));
  EXPECT_TRUE(torch::equal(cs[1][2], shared));
  EXPECT_EQ(one_step_carrier(e, shared, 2, 2).size(1), 2);  // a one-token text: e alone
}

// The row's stored mem [k + 1, d] (e, then m; the shared m appended under shared), laid out
// by hand as [e, m x (N - 1)] and scored by a naive full-logits forward at positions k - 1..:
// best_loss, best_acc and the decode check are that forward's.
void expect_row_is_its_carrier(CausalLM& model, const TaskResult& r, const std::vector<int32_t>& text, int64_t k) {
  ASSERT_EQ(r.status, TaskStatus::done) << r.error;
  const auto n = static_cast<int64_t>(text.size());
  const int64_t d = model.spec().hidden_size;
  EXPECT_EQ(r.n_targets, n);  // every token is a target, t_1 included
  ASSERT_EQ(static_cast<int64_t>(r.memory.size()), (k + 1) * d);
  auto mem = torch::tensor(r.memory).view({k + 1, d});
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < k; ++i) rows.push_back(mem[i]);
  for (int64_t i = 0; i + 1 < n; ++i) rows.push_back(mem[k]);
  auto s = test::naive_score(model, torch::stack(rows).unsqueeze(0), k - 1, text);
  EXPECT_NEAR(r.best_loss, s.mean_ce, 1e-4 * std::max(1.0, s.mean_ce));
  EXPECT_DOUBLE_EQ(r.best_acc, static_cast<double>(s.correct) / static_cast<double>(n));
  EXPECT_DOUBLE_EQ(r.decode_acc, r.best_acc);  // the decode is that same single pass
  EXPECT_EQ(r.decode_exact, s.correct == n);
  EXPECT_LT(r.best_loss, r.baseline_loss - 0.5);
}

TEST(OneStep, PerTextRowIsItsCarriersSinglePass) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(150);
  s.cram.optimizer.lr = 0.05;
  s.cram.one_step = "per_text";
  s.save_memory = true;
  const std::vector<int32_t> text(f.text.begin(), f.text.begin() + 8);
  auto rows = cram_tasks(*f.model, {make_task("os", f.text, 8, 2)}, s);
  expect_row_is_its_carrier(*f.model, rows.at(0), text, 2);
  EXPECT_TRUE(rows[0].decode_exact) << "8 tokens from 3 vectors in 150 steps: " << rows[0].best_acc;
}

TEST(OneStep, SharedMIsTheRunsAndOnlyETrains) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(60);
  s.cram.optimizer.lr = 0.05;
  s.cram.one_step = "shared";
  s.save_memory = true;
  auto rows = cram_tasks(*f.model, {make_task("a", f.text, 6, 1, 0), make_task("b", f.text, 9, 1, 1)}, s);
  const int64_t d = 256;
  const MemInit start(s.cram, f.model->embedding_weight(), s.seed);
  auto m = one_step_shared_m(s.cram, start, d);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto n = static_cast<size_t>(rows[i].length);
    expect_row_is_its_carrier(*f.model, rows[i], std::vector<int32_t>(f.text.begin(), f.text.begin() + n), 1);
    auto stored = torch::tensor(rows[i].memory).view({2, d});
    EXPECT_TRUE(torch::equal(stored[1], m)) << "the shared m moved in " << rows[i].task_key;
  }
  // Drawn from the run seed alone: another seed, another m; the same seed, the same m.
  EXPECT_TRUE(torch::equal(one_step_shared_m(s.cram, MemInit(s.cram, f.model->embedding_weight(), s.seed), d), m));
  EXPECT_FALSE(torch::equal(one_step_shared_m(s.cram, MemInit(s.cram, f.model->embedding_weight(), 99), d), m));
}

// Texts of different lengths pad the carrier; each row equals the row it gets alone.
TEST(OneStep, BatchedEqualsOneByOne) {
  auto& f = test::austen_llama();
  std::vector<Task> tasks = {make_task("a", f.text, 3, 2, 0), make_task("b", f.text, 12, 2, 1),
                             make_task("c", test::fold_ids(test::random_ids(7, 512, 3), 512), 7, 2, 2)};
  auto s = test::quick_settings(25);
  s.cram.one_step = "per_text";
  s.attention_mass = true;  // the carrier's copies of m as queries, padded or not
  test::expect_batched_equals_alone(*f.model, tasks, s);
}

TEST(OneStep, WarmStartWithoutMIsRefusedNamingTheShape) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(3);
  s.cram.one_step = "per_text";
  CramItem it;
  it.key = "w";
  it.n_mem = 2;
  it.tokens.assign(f.text.begin(), f.text.begin() + 5);
  it.warm_mem = torch::zeros({2, 256});
  try {
    cram_batch(*f.model, {it}, s);
    FAIL() << "a [k, d] warm start under one_step per_text was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected [3, 256] (e_1..e_k, then m"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace crammer
