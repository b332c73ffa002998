// cram.init (mem_init.hpp): each kind's start against an independent computation of what it
// promises, seeded by the task key; randn is today's init exactly; and a run from each start,
// whose first step's loss is the naive score of that start.
#include <gtest/gtest.h>

#include <set>

#include <ATen/CPUGeneratorImpl.h>

#include "cram_test_util.hpp"
#include "crammer/cram/mem_init.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using test::make_task;

// A [V, d] embedding matrix whose columns have known means and spreads.
torch::Tensor embedding_matrix() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto mean = torch::tensor({0.5f, -1.0f, 0.0f, 2.0f});
  auto spread = torch::tensor({0.1f, 0.5f, 1.0f, 0.02f});
  return mean + torch::randn({4000, 4}, gen, torch::dtype(torch::kFloat32)) * spread;
}

CramConfig with_init(const std::string& kind, double scale = 1.0) {
  CramConfig c;
  c.init = kind;
  c.init_std_scale = scale;
  return c;
}

TEST(MemInit, RandnIsThePapersInitUnchanged) {
  const auto e = embedding_matrix();
  const MemInit init(with_init("randn", 0.5), e, 11);
  const double std = e.std().item<double>() * 0.5;
  EXPECT_NEAR(init.randn_std(), std, 1e-12);
  EXPECT_TRUE(torch::equal(init.start("m/k2/L8/s0", 2, 4), init_mem("m/k2/L8/s0", 11, 2, 4, std)));
}

TEST(MemInit, UniformIsOnZeroToTwoHundredthsSeededByTheKey) {
  const MemInit init(with_init("uniform"), embedding_matrix(), 11);
  const auto a = init.start("m/k64/L8/s0", 64, 256);
  EXPECT_TRUE(torch::equal(a, init.start("m/k64/L8/s0", 64, 256)));
  EXPECT_FALSE(torch::equal(a, init.start("m/k64/L8/s1", 64, 256)));
  EXPECT_GE(a.min().item<float>(), 0.f);
  EXPECT_LT(a.max().item<float>(), 0.02f);
  EXPECT_NEAR(a.mean().item<double>(), 0.01, 2e-4);              // U[0, 0.02): mean 0.01
  EXPECT_NEAR(a.std().item<double>(), 0.02 / std::sqrt(12.0), 2e-4);  // and sd 0.02 / sqrt(12)
  const MemInit half(with_init("uniform", 0.5), embedding_matrix(), 11);
  EXPECT_TRUE(torch::allclose(half.start("m/k64/L8/s0", 64, 256), a * 0.5));
}

TEST(MemInit, VocabGaussianHasEachColumnsMeanAndSpread) {
  const auto e = embedding_matrix();
  const MemInit init(with_init("vocab_gaussian"), e, 11);
  const auto a = init.start("m/k4000/L8/s0", 4000, 4);  // 4000 draws per dimension
  EXPECT_TRUE(torch::allclose(a.mean(0), e.mean(0), 0, 0.05 * 1.0)) << a.mean(0) << e.mean(0);
  EXPECT_TRUE(torch::allclose(a.std(0), e.std(0), 0.05, 0)) << a.std(0) << e.std(0);
  EXPECT_FALSE(torch::equal(a, init.start("m/k4000/L8/s1", 4000, 4)));
}

TEST(MemInit, TextMeanIsTheMeanOfTheTextsEmbeddingRows) {
  auto& f = test::austen_llama();
  const MemInit init(with_init("text_mean"), f.model->embedding_weight(), 11);
  ASSERT_TRUE(init.needs_text());
  const std::vector<int64_t> ids = {5, 17, 5, 200, 3};
  const auto w = f.model->embedding_weight().to(torch::kFloat32);
  // Independent: the rows of the embedding matrix, averaged by hand.
  auto want = torch::zeros({w.size(1)});
  for (int64_t id : ids) want += w[id];
  want /= static_cast<double>(ids.size());
  at::NoGradGuard off;
  const auto text = f.model->embed(torch::tensor(ids).unsqueeze(0))[0];
  const auto a = init.start("t", 3, w.size(1), text);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, w.size(1)}));
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(a[i], want, 1e-6, 1e-7));
  EXPECT_THROW(init.start("t", 3, w.size(1)), ConfigError);  // no text: a clear error
}

// A run from each start: evaluation 0 scores exactly that start (the naive full-logits CE of
// [start, text]), so the engine used it; different kinds start differently.
TEST(MemInit, ARunStartsFromTheChosenInit) {
  auto& f = test::austen_llama();
  const int64_t k = 2, n = 10, d = f.model->embedding_weight().size(1);
  std::vector<int64_t> in(f.text.begin(), f.text.begin() + n - 1), tg(f.text.begin() + 1, f.text.begin() + n);
  std::set<float> firsts;
  for (const char* kind : {"randn", "uniform", "vocab_gaussian", "text_mean"}) {
    auto s = test::quick_settings(1);
    s.cram.init = kind;
    s.curves_every = 1;
    s.cram.decode_check = false;
    auto rows = cram_tasks(*f.model, {make_task("init", f.text, n, k)}, s);
    ASSERT_EQ(rows.at(0).status, TaskStatus::done) << kind << ": " << rows[0].error;
    at::NoGradGuard off;
    const MemInit init(s.cram, f.model->embedding_weight(), s.seed);
    const std::vector<int64_t> text(f.text.begin(), f.text.begin() + n);
    const auto start = init.start("init", k, d, f.model->embed(torch::tensor(text).unsqueeze(0))[0]);
    auto hidden = f.model->forward(torch::cat({start.unsqueeze(0), f.model->embed(torch::tensor(in).unsqueeze(0))}, 1));
    auto logits = torch::matmul(hidden[0].slice(0, k), f.model->head_weight().t());
    const double loss = -torch::log_softmax(logits, 1).gather(1, torch::tensor(tg).unsqueeze(1)).mean().item<double>();
    EXPECT_NEAR(rows[0].curve_loss.at(0), loss, 1e-5 * std::abs(loss)) << kind;
    firsts.insert(rows[0].curve_loss[0]);
  }
  EXPECT_EQ(firsts.size(), 4u) << "two kinds started from the same mem";
}

}  // namespace
}  // namespace crammer
