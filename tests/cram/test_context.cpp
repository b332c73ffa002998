// Tests of prefix context (corpus.prefix_tokens): real tokens between the [mem] vectors and the
// crammed text, input only. The baseline and the crammed loss equal a naive full-logits score of
// [context, text] and [mem, context, text] written here; batches equal one by one; the greedy
// decode continues after mem + context; the context really changes what is measured.
#include <gtest/gtest.h>

#include <cmath>

#include "cram_test_util.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using test::make_task;


// A task whose context is the first C ids and whose text is the `length` after them.
Task context_task(const std::string& key, const std::vector<int32_t>& ids, int64_t c, int32_t length,
                  int32_t n_mem = 1, int64_t sample = 0) {
  std::vector<int32_t> rest(ids.begin() + c, ids.end());
  Task t = make_task(key, rest, length, n_mem, sample);
  t.context.assign(ids.begin(), ids.begin() + c);
  return t;
}

TEST(Context, BaselineAndCrammedLossEqualANaiveScoreOfContextAndText) {
  auto& f = test::austen_llama();
  const int64_t C = 5;
  const int32_t n = 9;
  for (bool pft : {false, true}) {
    auto s = test::quick_settings(20);
    s.save_memory = true;
    s.cram.predict_first_token = pft;
    auto rows = cram_tasks(*f.model, {context_task("c", f.text, C, n)}, s);
    const auto& r = rows.at(0);
    ASSERT_EQ(r.status, TaskStatus::done) << r.error;
    EXPECT_EQ(r.n_tokens, n);
    EXPECT_EQ(r.n_targets, n - (pft ? 0 : 1));
    // [c_1..c_C, t_1..t_{n-1}]: t_1 sits at position C; pft scores it from c_C at C - 1.
    std::vector<int32_t> in(f.text.begin(), f.text.begin() + C + n - 1);
    std::vector<int32_t> targets(f.text.begin() + C + (pft ? 0 : 1), f.text.begin() + C + n);
    auto base = test::naive_score(*f.model, f.model->embed(test::ids_tensor(in)), pft ? C - 1 : C, targets);
    EXPECT_NEAR(r.baseline_loss, base.mean_ce, 1e-4) << "pft " << pft;
    EXPECT_EQ(std::lround(r.baseline_acc * r.n_targets), base.correct);
    auto mem = torch::from_blob(const_cast<float*>(r.memory.data()), {1, 1, 256}).clone();
    auto embeds = torch::cat({mem, f.model->embed(test::ids_tensor(in))}, 1);
    auto best = test::naive_score(*f.model, embeds, 1 + (pft ? C - 1 : C), targets);
    EXPECT_NEAR(r.best_loss, best.mean_ce, 1e-4) << "pft " << pft;
    EXPECT_EQ(std::lround(r.best_acc * r.n_targets), best.correct);
  }
}

TEST(Context, ChangesTheBaselineOfTheSameText) {
  auto& f = test::austen_llama();
  const int64_t C = 6;
  auto s = test::quick_settings(0);
  std::vector<int32_t> text(f.text.begin() + C, f.text.begin() + C + 8);
  auto with = cram_tasks(*f.model, {context_task("w", f.text, C, 8)}, s).at(0);
  auto without = cram_tasks(*f.model, {make_task("o", text, 8)}, s).at(0);
  EXPECT_EQ(with.n_targets, without.n_targets);
  EXPECT_GT(std::abs(with.baseline_loss - without.baseline_loss), 1e-3);
}

TEST(Context, BatchesEqualOneByOne) {
  auto& f = test::austen_llama();
  std::vector<Task> tasks = {context_task("a", f.text, 4, 6, 1, 0), context_task("b", f.text, 4, 12, 1, 1),
                             context_task("c", test::fold_ids(test::random_ids(20, 512, 3), 512), 4, 9, 1, 2)};
  auto s = test::quick_settings(40);
  auto batched = cram_tasks(*f.model, tasks, s);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& r = batched[i];
    ASSERT_EQ(r.status, TaskStatus::done) << r.error;
    auto alone = cram_tasks(*f.model, {tasks[i]}, s).at(0);
    EXPECT_EQ(r.steps, alone.steps) << r.task_key;
    EXPECT_DOUBLE_EQ(r.best_acc, alone.best_acc) << r.task_key;
    EXPECT_NEAR(r.best_loss, alone.best_loss, 2e-4 * std::max(1.0, alone.best_loss)) << r.task_key;
    EXPECT_NEAR(r.baseline_loss, alone.baseline_loss, 2e-4 * std::max(1.0, alone.baseline_loss)) << r.task_key;
  }
}

// At accuracy 1 the greedy decode, fed mem + context, reproduces the text.
TEST(Context, CramsAndDecodesAfterMemAndContext) {
  auto& f = test::austen_llama();
  auto r = cram_tasks(*f.model, {context_task("d", f.text, 4, 10)}, test::quick_settings(300)).at(0);
  std::printf("baseline acc %.3f loss %.3f -> best acc %.3f loss %.3f in %d steps\n", r.baseline_acc,
              r.baseline_loss, r.best_acc, r.best_loss, r.steps);
  ASSERT_DOUBLE_EQ(r.best_acc, 1.0);
  EXPECT_TRUE(r.decode_exact);
  EXPECT_EQ(r.decode_prefix, 9);
  EXPECT_DOUBLE_EQ(r.decode_acc, 1.0);
}

TEST(Context, PositionsCountTheContextAndContextsDifferingInABatchFail) {
  auto& f = test::austen_llama();
  auto spec = test::tiny_spec("llama", 2, 64, 4, 512);
  spec.max_position_embeddings = 16;
  auto small = test::tiny_model(spec, 3, 0.08);
  auto s = test::quick_settings(2);
  auto rows = cram_tasks(*small, {context_task("long", f.text, 8, 8)}, s);  // 1 + 8 + 8 > 16
  ASSERT_EQ(rows.at(0).status, TaskStatus::failed);
  EXPECT_NE(rows[0].error.find("n_mem + context + length = 1 + 8 + 8 > max_position_embeddings 16"),
            std::string::npos)
      << rows[0].error;
  std::vector<CramItem> items(2);
  for (int i = 0; i < 2; ++i) {
    items[i].key = "i" + std::to_string(i);
    items[i].tokens.assign(f.text.begin() + 6, f.text.begin() + 10);
    items[i].context.assign(f.text.begin(), f.text.begin() + 2 + 2 * i);
  }
  try {
    cram_batch(*f.model, items, s);
    ADD_FAILURE() << "contexts of 2 and 4 tokens in one batch accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("context of 4 tokens differs from the batch's 2"), std::string::npos) << e.what();
  }
}

// cram.in_context_control: the copy is scored on the text after its prompt, t_1 as input, as a
// naive full forward of [prompt, S] scores it (the notebook's procedure; check_bos.py compares
// it with transformers itself).
TEST(Context, InContextControlScoresTheTextAfterItsPrompt) {
  auto& f = test::austen_llama();
  auto s = test::quick_settings(0);
  std::vector<int32_t> text(f.text.begin(), f.text.begin() + 10);
  Task t = make_task("copy", text, 10);
  t.copy_prompt.assign(f.text.begin() + 12, f.text.begin() + 19);
  t.copy_from = 1;  // the copied text leaves out the first token, as it leaves out a BOS
  Task plain = make_task("plain", text, 10);
  auto rows = cram_tasks(*f.model, {t, plain}, s);
  const auto& r = rows.at(0);
  ASSERT_EQ(r.status, TaskStatus::done) << r.error;
  const std::vector<int32_t> copied(text.begin() + 1, text.end());
  std::vector<int32_t> in = t.copy_prompt;
  in.insert(in.end(), copied.begin(), copied.end() - 1);
  const std::vector<int32_t> targets(copied.begin() + 1, copied.end());
  const auto P = static_cast<int64_t>(t.copy_prompt.size());
  auto want = test::naive_score(*f.model, f.model->embed(test::ids_tensor(in)), P, targets);
  EXPECT_NEAR(r.copy_loss, want.mean_ce, 1e-4);
  EXPECT_EQ(std::lround(r.copy_acc * static_cast<double>(targets.size())), want.correct);
  // The prompt changes the text's scores (the copy is not the baseline), and a task without
  // the control records none.
  EXPECT_GT(std::abs(r.copy_loss - r.baseline_loss), 1e-3);
  EXPECT_EQ(rows.at(1).copy_loss, -1);
  EXPECT_EQ(rows.at(1).copy_acc, -1);
}

}  // namespace
}  // namespace crammer
