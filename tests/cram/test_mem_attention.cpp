// Tests of the attention mass on [mem] (output.attention_mass, mem_attention.hpp): against the
// closed form of uniform attention (a model whose queries are zero attends evenly to every key
// it may see, so the query at position p puts k / (p + 1) on the k [mem] keys), for the plain
// layout with a context, for one-step's carrier and for a one-token text; a crammed row's
// values are those of its stored best mem under either attention kernel, batched or alone;
// mamba records none. Values against transformers' output_attentions:
// tests/reference/check_paper_loop.py.
#include <gtest/gtest.h>

#include "cram_test_util.hpp"
#include "crammer/cram/mem_attention.hpp"
#include "crammer/model/make_model.hpp"

namespace crammer {
namespace {

using test::make_task;

// A 3-layer llama whose query projections are zero: every score is 0, attention is uniform.
std::shared_ptr<CausalLM> uniform_llama() {
  auto model = test::tiny_model(test::tiny_spec("llama", 3, 64, 4, 512), 5, 0.1);
  at::NoGradGuard no_grad;
  for (auto& p : model->hf_params())
    if (p.name.find("q_proj.weight") != std::string::npos) p.tensor.zero_();
  return model;
}

// Mean over query positions first..first + n - 1 of k / (p + 1).
double uniform_mass(int64_t k, int64_t first, int64_t n) {
  double sum = 0;
  for (int64_t p = first; p < first + n; ++p) sum += static_cast<double>(k) / static_cast<double>(p + 1);
  return sum / static_cast<double>(n);
}

TEST(MemAttention, UniformAttentionGivesTheClosedForm) {
  auto model = uniform_llama();
  const int64_t k = 2, d = 64;
  const std::vector<int32_t> text = {5, 9, 2, 7, 11}, context = {3, 4, 8};
  const std::vector<torch::Tensor> mems = {torch::randn({k, d}), torch::randn({k, d}), torch::randn({k, d})};
  // Text 0 after a context (queries t_1..t_4 at positions 5..8), text 1 without (2..5), a
  // one-token text (no query: nothing recorded).
  auto mass = mem_attention_mass(*model, mems, {text, text, {6}}, {context, {}, {}}, k, false, {});
  ASSERT_EQ(mass.size(), 3u);
  ASSERT_EQ(mass[0].size(), 3u) << "one value per attention layer";
  for (int layer = 0; layer < 3; ++layer) {
    EXPECT_NEAR(mass[0][layer], uniform_mass(k, 5, 4), 1e-6) << layer;
    EXPECT_NEAR(mass[1][layer], uniform_mass(k, 2, 4), 1e-6) << layer;
  }
  EXPECT_TRUE(mass[2].empty());
  // One-step: the carrier [e_1, e_2, m, m, m, m]; the copies of m at 2..5 are the queries.
  auto one_step = mem_attention_mass(*model, {torch::randn({k + 1, d})}, {text}, {}, k, true, {});
  ASSERT_EQ(one_step.at(0).size(), 3u);
  EXPECT_NEAR(one_step[0][1], uniform_mass(k, 2, 4), 1e-6);
  auto shared = mem_attention_mass(*model, {torch::randn({k, d})}, {text}, {}, k, true, torch::randn({d}));
  EXPECT_NEAR(shared.at(0).at(2), uniform_mass(k, 2, 4), 1e-6);
}

TEST(MemAttention, RowIsItsBestMemsUnderEitherKernelBatchedOrAlone) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(30);
  s.save_memory = true;
  s.attention_mass = true;
  std::vector<Task> tasks = {make_task("a", f.text, 6, 2, 0), make_task("b", f.text, 11, 2, 1)};
  auto rows = test::expect_batched_equals_alone(*f.model, tasks, s);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ASSERT_EQ(r.status, TaskStatus::done) << r.error;
    ASSERT_EQ(r.mem_attention.size(), 2u) << r.task_key;
    const std::vector<int32_t> text(f.text.begin(), f.text.begin() + r.length);
    auto again = mem_attention_mass(*f.model, {torch::tensor(r.memory).view({2, 256})}, {text}, {}, 2, false, {});
    for (size_t l = 0; l < 2; ++l) {
      EXPECT_GT(r.mem_attention[l], 0.0f);
      EXPECT_LE(r.mem_attention[l], 1.0f);
      EXPECT_NEAR(r.mem_attention[l], again.at(0).at(l), 1e-6) << r.task_key << " layer " << l;
    }
  }
  // The recorded forward takes the explicit path whatever the run's kernel.
  auto sdpa = s;
  sdpa.attention = AttentionKernel::sdpa;
  auto explicit_kernel = s;
  explicit_kernel.attention = AttentionKernel::explicit_softmax;
  auto a = cram_tasks(*f.model, {tasks[0]}, sdpa).at(0), b = cram_tasks(*f.model, {tasks[0]}, explicit_kernel).at(0);
  for (size_t l = 0; l < 2; ++l) EXPECT_NEAR(a.mem_attention.at(l), b.mem_attention.at(l), 1e-4);
  s.attention_mass = false;
  EXPECT_TRUE(cram_tasks(*f.model, {tasks[0]}, s).at(0).mem_attention.empty()) << "recorded while off";
}

TEST(MemAttention, MambaHasNoAttentionLayers) {
  MakeModelOptions o;
  o.arch = "mamba";
  o.layers = 2;
  o.d_model = 64;
  o.vocab_size = 512;
  o.out_dir = "unused";  // only the spec is made
  auto model = test::tiny_model(model_spec_from_options(o), 7, 0.3);
  auto s = test::quick_settings(3);
  s.attention_mass = true;
  auto r = cram_tasks(*model, {make_task("m", test::austen_llama().text, 6)}, s).at(0);
  ASSERT_EQ(r.status, TaskStatus::done) << r.error;
  EXPECT_TRUE(r.mem_attention.empty());
}

}  // namespace
}  // namespace crammer
