// Tests of capacity search (bisect, progressive) and of task grouping in cram_tasks. Not for:
// the step loop itself (test_engine).
#include <gtest/gtest.h>

#include <map>

#include "cram_test_util.hpp"

namespace crammer {
namespace {

using test::make_task;

// A case built for it: with few steps a small model crams short prefixes and fails long ones.
// Grid tasks carry the search task's key, so each probe starts from the same mem init as the
// grid task of its length and the two must agree row for row.
constexpr int32_t kMax = 12;

CramSettings search_settings(const std::string& mode) {
  auto s = test::quick_settings(30);
  s.cram.search = mode;
  s.cram.lengths = {3, 12};  // bisect starts at the smallest: 3, 6, 12, then bisects
  return s;
}

std::shared_ptr<CausalLM> search_model() {
  return test::tiny_model(test::tiny_spec("llama", 2, 128, 4, 512), 7, 0.08);
}

TEST(CapacitySearch, BisectFindsTheGridCapacity) {
  auto model = search_model();
  auto text = test::fold_ids(test::random_ids(kMax, 512, 9), 512);
  auto s = search_settings("bisect");

  std::vector<Task> grid;
  for (int32_t L = 2; L <= kMax; ++L) grid.push_back(make_task("s", text, L));
  auto grid_rows = cram_tasks(*model, grid, s);
  ASSERT_EQ(grid_rows.size(), grid.size());
  std::map<int32_t, TaskResult> by_length;
  int32_t grid_capacity = 0;
  std::string pattern;
  for (const auto& r : grid_rows) {
    by_length[r.length] = r;
    pattern += r.converged ? '+' : '-';
    if (r.converged) grid_capacity = r.length;
    EXPECT_EQ(r.capacity, -1);  // grid rows carry no capacity
  }
  std::printf("grid lengths 2..%d converged: %s\n", kMax, pattern.c_str());
  // The case must be monotone (successes then failures) with a capacity inside the range.
  ASSERT_EQ(pattern.find_last_of('+') + 1, pattern.find_first_of('-')) << pattern;
  ASSERT_GT(grid_capacity, 3);
  ASSERT_LT(grid_capacity, kMax);

  auto search = make_task("s", text, kMax);
  search.capacity_search = true;
  auto rows = cram_tasks(*model, {search}, s);
  std::string probes;
  for (const auto& r : rows) probes += std::to_string(r.length) + (r.converged ? "+ " : "- ");
  std::printf("bisect probes: %s\n", probes.c_str());
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[0].length, 3);
  for (const auto& r : rows) {
    EXPECT_EQ(r.task_key, "s");
    EXPECT_EQ(r.capacity, grid_capacity);
    const auto& g = by_length.at(r.length);
    EXPECT_EQ(r.converged, g.converged) << "length " << r.length;
    EXPECT_EQ(r.steps, g.steps) << "length " << r.length;
    EXPECT_NEAR(r.best_loss, g.best_loss, 2e-4 * std::max(1.0, g.best_loss));
  }
  // Fewer probes than the grid: doubling (<= 3) + bisection (<= log2(12 - 3) + 1).
  EXPECT_LE(rows.size(), 7u);
}

TEST(CapacitySearch, ProgressiveWarmStartsFromLastSuccess) {
  auto model = search_model();
  auto text = test::fold_ids(test::random_ids(kMax, 512, 9), 512);
  auto task = make_task("p", text, kMax);
  task.capacity_search = true;
  auto s_bis = search_settings("bisect");
  auto s_pro = search_settings("progressive");
  s_bis.curves_every = s_pro.curves_every = 1;
  auto bis = cram_tasks(*model, {task}, s_bis);
  auto pro = cram_tasks(*model, {task}, s_pro);
  ASSERT_GE(pro.size(), 2u);
  // The first probe has no success to start from: identical to bisect's.
  EXPECT_EQ(pro[0].length, bis[0].length);
  EXPECT_EQ(pro[0].steps, bis[0].steps);
  ASSERT_TRUE(pro[0].converged);
  // The second starts from the first's best mem, which already predicts every target of the
  // first probe's text (a prefix of this one: causal attention gives them the same context).
  ASSERT_EQ(pro[1].length, bis[1].length);
  const double prefix_share = static_cast<double>(pro[0].n_targets) / pro[1].n_targets;
  std::printf("step-0 accuracy of probe 2: progressive %.3f, bisect %.3f (prefix share %.3f)\n",
              pro[1].curve_acc[0], bis[1].curve_acc[0], prefix_share);
  EXPECT_GE(pro[1].curve_acc[0], prefix_share - 1e-6);
  EXPECT_NE(pro[1].curve_loss[0], bis[1].curve_loss[0]);
  int32_t best = 0;
  for (const auto& r : pro) {
    if (r.converged) best = std::max(best, r.length);
  }
  for (const auto& r : pro) EXPECT_EQ(r.capacity, best);
  std::printf("capacity: bisect %d, progressive %d\n", bis[0].capacity, best);
}

// cram.growth one_token: after each converged probe of L the next is L + 1, from its best mem,
// until the first failure; each row says which length it grew from (a doubling search's too).
TEST(CapacitySearch, OneTokenGrowthAddsOneTokenPerProbeUntilAFailure) {
  auto model = search_model();
  auto text = test::fold_ids(test::random_ids(kMax, 512, 9), 512);
  auto task = make_task("g", text, kMax);
  task.capacity_search = true;
  auto s = search_settings("progressive");
  s.cram.growth = "one_token";
  auto rows = cram_tasks(*model, {task}, s);
  std::string probes;
  for (const auto& r : rows) probes += std::to_string(r.length) + "<" + std::to_string(r.grown_from) + (r.converged ? "+ " : "- ");
  std::printf("one-token probes (length<grown_from): %s\n", probes.c_str());
  ASSERT_GE(rows.size(), 3u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].length, 3 + static_cast<int32_t>(i));
    EXPECT_EQ(rows[i].grown_from, i == 0 ? 0 : rows[i].length - 1) << probes;
    EXPECT_EQ(rows[i].converged, i + 1 < rows.size() || rows[i].length == kMax) << probes;
    EXPECT_EQ(rows[i].capacity, rows.back().converged ? rows.back().length : rows.back().length - 1);
  }
  auto doubling = cram_tasks(*model, {task}, search_settings("progressive"));
  int32_t last_success = 0;
  for (const auto& r : doubling) {
    EXPECT_EQ(r.grown_from, last_success) << "length " << r.length;
    if (r.converged) last_success = r.length;
  }
}

TEST(CramTasks, KeepsTaskOrderAcrossGroupsAndBatches) {
  auto model = test::tiny_model(test::tiny_spec("gpt2", 1, 32, 4, 64), 1);
  auto text = test::random_ids(20, 64, 4);
  std::vector<Task> tasks;
  const int32_t ks[] = {2, 1, 2, 1, 1};
  const int32_t lengths[] = {9, 4, 5, 17, 4};
  for (int i = 0; i < 5; ++i)
    tasks.push_back(make_task("t" + std::to_string(i), text, lengths[i], ks[i], i));
  auto s = test::quick_settings(2, /*batch=*/2);
  auto rows = cram_tasks(*model, tasks, s);
  ASSERT_EQ(rows.size(), tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(rows[i].task_key, tasks[i].key);
    EXPECT_EQ(rows[i].n_mem, tasks[i].n_mem);
    EXPECT_EQ(rows[i].length, tasks[i].length);
    EXPECT_EQ(rows[i].sample_id, tasks[i].sample_id);
  }
}

}  // namespace
}  // namespace crammer
