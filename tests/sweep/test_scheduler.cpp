// Batch choice of the coordinator's TaskQueue: held model first, one (n_mem, length) group per
// batch, plan order, every task handed out exactly once.
#include <gtest/gtest.h>

#include <set>

#include "crammer/sweep/scheduler.hpp"
#include "synthetic_backend.hpp"

using namespace crammer;

namespace {
void expect_one_group(const std::vector<Task>& batch) {
  ASSERT_FALSE(batch.empty());
  for (const auto& t : batch) {
    EXPECT_EQ(t.model_index, batch[0].model_index) << t.key;
    EXPECT_EQ(t.n_mem, batch[0].n_mem) << t.key;
    EXPECT_EQ(t.length, batch[0].length) << t.key;
  }
}
}  // namespace

TEST(DistTaskQueue, PrefersHeldModelAndGroupsEqualKAndLength) {
  // 3 models x (k 1,2) x (L 16,32) x 5 samples = 60 tasks.
  TaskQueue q(test::synthetic_tasks(3, 5));
  EXPECT_EQ(q.total(), 60u);
  auto b = q.take_batch(2, 4);
  ASSERT_EQ(b.size(), 4u);
  expect_one_group(b);
  EXPECT_EQ(b[0].model_index, 2);
  // First group of model 2 in plan order: k1 L16, samples 0..3.
  EXPECT_EQ(b[0].key, "m2/k1/L16/s0");
  EXPECT_EQ(b[3].key, "m2/k1/L16/s3");
  // The group's tail: only 1 left, and a batch never mixes groups.
  auto tail = q.take_batch(2, 4);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].key, "m2/k1/L16/s4");
  auto next = q.take_batch(2, 100);
  ASSERT_EQ(next.size(), 5u);
  expect_one_group(next);
  EXPECT_EQ(next[0].key, "m2/k1/L32/s0");
  EXPECT_EQ(q.pending(), 50u);
  EXPECT_EQ(q.pending_per_model().at(2), 10u);
}

TEST(DistTaskQueue, SwitchesModelOnlyWhenHeldModelIsExhausted) {
  TaskQueue q(test::synthetic_tasks(2, 3));  // 12 tasks per model
  size_t from_model_1 = 0;
  while (true) {
    auto b = q.take_batch(1, 5);
    if (b.empty() || b[0].model_index != 1) {
      EXPECT_EQ(from_model_1, 12u);
      EXPECT_FALSE(b.empty());
      EXPECT_EQ(b[0].model_index, 0);
      break;
    }
    from_model_1 += b.size();
  }
}

TEST(DistTaskQueue, FreeWorkerGoesWhereFewerWorkersHoldTheModel) {
  TaskQueue q(test::synthetic_tasks(2, 4));  // 16 tasks per model
  q.set_holder(1, 0);
  q.set_holder(2, 0);
  // Model 0: 16 pending / (2 holders + 1); model 1: 16 / 1 -> model 1.
  auto b = q.take_batch(-1, 2);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0].model_index, 1);
  // With no holders the tie goes to the lower index.
  TaskQueue fresh(test::synthetic_tasks(2, 4));
  EXPECT_EQ(fresh.take_batch(-1, 2)[0].model_index, 0);
  // A held model that does not exist in the plan is ignored; model 1 now has more pending.
  EXPECT_EQ(fresh.take_batch(7, 2)[0].model_index, 1);
}

TEST(DistTaskQueue, EveryTaskExactlyOnceWhateverTheRequests) {
  auto tasks = test::synthetic_tasks(3, 7, {1, 2, 4}, {8, 16, 64});
  std::set<std::string> expected;
  for (const auto& t : tasks) expected.insert(t.key);
  TaskQueue q(tasks);
  std::multiset<std::string> seen;
  int32_t held[3] = {-1, -1, -1};
  for (int i = 0; !q.empty(); ++i) {
    int w = i % 3;
    auto b = q.take_batch(held[w], size_t(1 + i % 6));
    expect_one_group(b);
    held[w] = b[0].model_index;
    q.set_holder(w, held[w]);
    for (const auto& t : b) seen.insert(t.key);
  }
  EXPECT_EQ(seen.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_TRUE(q.take_batch(0, 4).empty());
}

TEST(DistTaskQueue, CapacitySearchTasksAreTheirOwnGroup) {
  auto tasks = test::synthetic_tasks(1, 2, {1}, {16});
  tasks[1].capacity_search = true;
  TaskQueue q(tasks);
  EXPECT_EQ(q.take_batch(0, 8).size(), 1u);
  EXPECT_EQ(q.take_batch(0, 8).size(), 1u);
}

// A lost worker's batch goes back and is the next batch of its model: nothing lost or doubled.
TEST(DistTaskQueue, RequeuedTasksComeBackFirstAndOnce) {
  auto tasks = test::synthetic_tasks(2, 6);
  TaskQueue q(tasks);
  auto first = q.take_batch(0, 4);
  auto second = q.take_batch(0, 4);
  const size_t pending = q.pending();
  q.requeue(first);
  EXPECT_EQ(q.pending(), pending + first.size());
  auto again = q.take_batch(0, 8);
  ASSERT_EQ(again.size(), first.size());  // its own group: nothing of another group joins it
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(again[i].key, first[i].key);
  std::multiset<std::string> seen;
  for (const auto& t : again) seen.insert(t.key);
  for (const auto& t : second) seen.insert(t.key);
  while (!q.empty())
    for (const auto& t : q.take_batch(1, 5)) seen.insert(t.key);
  EXPECT_EQ(seen.size(), tasks.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), tasks.size());
}
