// Tests of the low-dimensional parametrisation mem = z W^T + b (cram.mem_rank, mem_params.hpp):
// its init, its first AdamW step against an autograd recomputation written here, the rank of
// what it learns, batched == one by one, and the errors of a rank the model cannot take.
#include <gtest/gtest.h>

#include <cmath>

#include "cram_test_util.hpp"
#include "crammer/cram/mem_params.hpp"

namespace crammer {
namespace {

using test::make_task;


// Singular values of the rows of `memory` ([k, d]) minus its first row, largest first.
torch::Tensor spread(const TaskResult& r, int64_t k) {
  auto m = torch::from_blob(const_cast<float*>(r.memory.data()), {k, r.d_model}).to(torch::kFloat64);
  auto diff = m.slice(0, 1) - m.slice(0, 0, 1);
  return std::get<1>(torch::svd(diff));
}

TEST(LowRank, InitIsSeededByTheKeyAndHasTheFullRankScale) {
  auto a = init_low_rank("m/k64/L16/s0", 11, 64, 256, 8, 0.5);
  auto b = init_low_rank("m/k64/L16/s0", 11, 64, 256, 8, 0.5);
  auto c = init_low_rank("m/k64/L16/s1", 11, 64, 256, 8, 0.5);
  EXPECT_TRUE(torch::equal(a.z, b.z));
  EXPECT_TRUE(torch::equal(a.w, b.w));
  EXPECT_FALSE(torch::equal(a.z, c.z));
  EXPECT_EQ(a.z.sizes(), (std::vector<int64_t>{64, 8}));
  EXPECT_EQ(a.w.sizes(), (std::vector<int64_t>{256, 8}));
  EXPECT_EQ(a.b.sizes(), (std::vector<int64_t>{256}));
  EXPECT_EQ(a.b.abs().max().item<float>(), 0.f);
  const double sd = torch::matmul(a.z, a.w.t()).std().item<double>();
  EXPECT_NEAR(sd, 0.5, 0.05) << "mem = z W^T starts at the full-rank init's scale";
}

// Step 0's loss is the init's; step 1's is after one AdamW update of z, W and b. Both are
// recomputed here with autograd on the naive full-logits CE and a hand-written first AdamW step.
TEST(LowRank, FirstStepEqualsAnAutogradRecomputation) {
  auto& f = test::austen_llama();
  const int64_t k = 2, r = 3, d = 256, n = 10;
  auto s = test::quick_settings(1);
  s.cram.mem_rank = r;
  s.curves_every = 1;
  s.cram.decode_check = false;
  auto rows = cram_tasks(*f.model, {make_task("lr", f.text, n, k)}, s);
  ASSERT_EQ(rows.at(0).status, TaskStatus::done) << rows[0].error;
  ASSERT_EQ(rows[0].curve_loss.size(), 2u);

  at::NoGradGuard off;
  double init_std = f.model->embedding_weight().to(torch::kFloat32).std().item<double>();
  auto init = init_low_rank("lr", s.seed, k, d, r, init_std);
  std::vector<int32_t> t(f.text.begin(), f.text.begin() + n);
  std::vector<int64_t> in(t.begin(), t.end() - 1);
  auto text_emb = f.model->embed(torch::tensor(in).unsqueeze(0));
  std::vector<int64_t> tg(t.begin() + 1, t.end());
  auto targets = torch::tensor(tg);
  auto loss_of = [&](const torch::Tensor& z, const torch::Tensor& w, const torch::Tensor& b) {
    auto mem = (torch::matmul(z, w.t()) + b).unsqueeze(0);  // [1, k, d]
    auto hidden = f.model->forward(torch::cat({mem, text_emb}, 1));
    auto logits = torch::matmul(hidden[0].slice(0, k), f.model->head_weight().t());
    return -torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).mean();
  };
  std::vector<torch::Tensor> p = {init.z.clone(), init.w.clone(), init.b.clone()};
  torch::Tensor loss0;
  {
    at::AutoGradMode on(true);
    for (auto& x : p) x.requires_grad_(true);
    loss0 = loss_of(p[0], p[1], p[2]);
    loss0.backward();
  }
  EXPECT_NEAR(rows[0].curve_loss[0], loss0.item<double>(), 1e-5);
  const auto& o = s.cram.optimizer;
  for (auto& x : p) x = test::adamw_first_step(x, x.grad(), o).detach();
  const double loss1 = loss_of(p[0], p[1], p[2]).template item<double>();
  EXPECT_NEAR(rows[0].curve_loss[1], loss1, 1e-4 * std::max(1.0, loss1));
  EXPECT_GT(std::abs(loss1 - loss0.item<double>()), 1e-3) << "the step moved the loss";
}

// What rank r learns stays in an r-dimensional affine subspace: with k = 4 vectors, the
// differences to the first span r directions, and the text still crams.
TEST(LowRank, LearnedMemLiesInRankRAndCrams) {
  auto& f = test::austen_llama();
  for (int64_t r : {1, 2}) {
    auto s = test::quick_settings(300);
    s.cram.mem_rank = r;
    s.save_memory = true;
    auto rows = cram_tasks(*f.model, {make_task("r" + std::to_string(r), f.text, 12, 4)}, s);
    const auto& row = rows.at(0);
    ASSERT_EQ(row.status, TaskStatus::done) << row.error;
    std::printf("rank %lld: baseline loss %.3f -> best %.3f, acc %.3f in %d steps\n", static_cast<long long>(r),
                row.baseline_loss, row.best_loss, row.best_acc, row.steps);
    EXPECT_LT(row.best_loss, 0.5 * row.baseline_loss);
    auto sv = spread(row, 4);
    ASSERT_EQ(sv.size(0), 3);
    EXPECT_GT(sv[r - 1].item<double>(), 1e-3);
    for (int64_t i = r; i < 3; ++i) EXPECT_LT(sv[i].item<double>(), 1e-5 * sv[0].item<double>()) << "rank " << r;
  }
}

TEST(LowRank, BatchedEqualsOneByOne) {
  auto& f = test::austen_llama();
  std::vector<Task> tasks = {make_task("a", f.text, 5, 2, 0), make_task("b", f.text, 14, 2, 1),
                             make_task("c", test::fold_ids(test::random_ids(9, 512, 3), 512), 9, 2, 2)};
  auto s = test::quick_settings(30);
  s.cram.mem_rank = 4;
  test::expect_batched_equals_alone(*f.model, tasks, s);
}

TEST(LowRank, RankAboveTheWidthFailsTheTaskNamingTheKey) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(3);
  s.cram.mem_rank = 257;
  auto rows = cram_tasks(*f.model, {make_task("wide", f.text, 6)}, s);
  ASSERT_EQ(rows.at(0).status, TaskStatus::failed);
  EXPECT_NE(rows[0].error.find("cram.mem_rank 257 > 256"), std::string::npos) << rows[0].error;
}

}  // namespace
}  // namespace crammer
