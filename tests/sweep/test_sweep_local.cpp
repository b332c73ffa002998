// The sweep without MPI ranks: retry-by-halving and failed rows, Interrupted, and run_sweep's
// one-process path (the coordinator runs the backend in-process) with an in-memory sink.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "crammer/sweep/sweep.hpp"
#include "crammer/util/interrupt.hpp"
#include "synthetic_backend.hpp"

using namespace crammer;

namespace {

struct MemorySink : ResultSink {
  void store(const TaskResult& r) override { rows.push_back(r); }
  void flush() override { flushed_at.push_back(rows.size()); }
  std::vector<TaskResult> rows;
  std::vector<size_t> flushed_at;
};

SweepOptions quiet_options(size_t batch) {
  SweepOptions o;
  o.batch_size = batch;
  o.progress.mode = ProgressOptions::Mode::off;
  return o;
}
}  // namespace

TEST(DistRetry, HalvesDownToTheFailingTaskAndRecordsIt) {
  auto tasks = test::synthetic_tasks(1, 8, {1}, {16});  // one group of 8
  test::SyntheticBackend backend({"/s5"});
  std::vector<TaskResult> out;
  run_batch_with_retries(backend, tasks, out, 3, "cpu");
  // 8 fails -> [0..3] ok, [4..7] fails -> [4,5] fails -> [4] ok, [5] fails alone; [6,7] ok.
  EXPECT_EQ(backend.batch_sizes, (std::vector<size_t>{8, 4, 4, 2, 1, 1, 2}));
  ASSERT_EQ(out.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(out[i].task_key, tasks[i].key);
    if (i == 5) {
      EXPECT_EQ(out[i].status, TaskStatus::failed);
      EXPECT_EQ(out[i].error, "synthetic failure for m0/k1/L16/s5");
      EXPECT_EQ(out[i].model_index, 0);
      EXPECT_EQ(out[i].sample_id, 5);
      EXPECT_EQ(out[i].n_mem, 1);
      EXPECT_EQ(out[i].length, 16);
      EXPECT_EQ(out[i].rank, 3);
      EXPECT_EQ(out[i].device, "cpu");
    } else {
      EXPECT_EQ(out[i].status, TaskStatus::done);
      EXPECT_EQ(out[i].best_acc, test::synthetic_result(tasks[i]).best_acc);
    }
  }
}

TEST(DistRetry, LoneTaskGetsItsExtraAttempts) {
  auto tasks = test::synthetic_tasks(1, 1, {1}, {16});
  test::SyntheticBackend backend({"s0"});
  std::vector<TaskResult> out;
  run_batch_with_retries(backend, tasks, out, 0, "cpu", 2);
  EXPECT_EQ(backend.calls, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, TaskStatus::failed);
}

namespace {
// Answers only the first task of each batch: a backend bug the worker must not pass on silently.
struct ForgetfulBackend : WorkerBackend {
  std::vector<TaskResult> run(const std::vector<Task>& batch) override {
    return {test::synthetic_result(batch.front())};
  }
  int32_t held_model() const override { return 0; }
};
}  // namespace

TEST(DistRetry, MissingResultsBecomeRetriesNotSilentLoss) {
  auto tasks = test::synthetic_tasks(1, 4, {1}, {16});
  ForgetfulBackend backend;
  std::vector<TaskResult> out;
  run_batch_with_retries(backend, tasks, out, 0, "cpu");
  ASSERT_EQ(out.size(), 4u);  // halving reaches single tasks, which it answers
  for (const auto& r : out) EXPECT_EQ(r.status, TaskStatus::done) << r.task_key;
}

TEST(DistSweepAlone, EveryTaskStoredOnceAndFlushed) {
  auto tasks = test::synthetic_tasks(3, 5);  // 60 tasks
  test::SyntheticBackend backend({"m1/k2/L32/s4"});
  MemorySink sink;
  DistContext ctx;  // one process, MPI not needed
  auto out = run_sweep(ctx, tasks, backend, &sink, quiet_options(4));
  EXPECT_TRUE(out.completed);
  EXPECT_FALSE(out.interrupted);
  EXPECT_EQ(out.counts.tasks_total, 60);
  EXPECT_EQ(out.counts.tasks_done, 59);
  EXPECT_EQ(out.counts.tasks_failed, 1);
  EXPECT_EQ(out.counts.tasks_unfinished, 0);
  EXPECT_EQ(out.counts.rows_stored, 60);
  ASSERT_EQ(sink.rows.size(), 60u);
  std::set<std::string> keys;
  for (const auto& r : sink.rows) keys.insert(r.task_key);
  EXPECT_EQ(keys.size(), 60u);
  ASSERT_FALSE(sink.flushed_at.empty());
  EXPECT_EQ(sink.flushed_at.back(), 60u);  // final flush after the last store
  // Held model preferred: the backend switched model exactly twice (0 -> 1 -> 2).
  int switches = 0;
  for (size_t i = 1; i < sink.rows.size(); ++i) {
    switches += sink.rows[i].model_index != sink.rows[i - 1].model_index;
  }
  EXPECT_EQ(switches, 2);
}

TEST(DistSweepAlone, FlushesOnTheTimer) {
  auto tasks = test::synthetic_tasks(1, 4, {1}, {16});
  test::SyntheticBackend backend({}, 20);  // 20 ms per task
  MemorySink sink;
  auto opts = quiet_options(1);
  opts.flush_seconds = 0.01;
  DistContext ctx;
  run_sweep(ctx, tasks, backend, &sink, opts);
  // A flush after every task (each takes longer than the interval) plus the final one.
  EXPECT_GE(sink.flushed_at.size(), 4u);
}

namespace {
// Requests a stop while running its third batch, as a signal handler would.
struct StoppingBackend : test::SyntheticBackend {
  std::vector<TaskResult> run(const std::vector<Task>& batch) override {
    if (++n == 3) {
      request_stop(15);
      throw Interrupted{};
    }
    return test::SyntheticBackend::run(batch);
  }
  int n = 0;
};
}  // namespace

TEST(DistSweepAlone, InterruptKeepsFinishedBatchesAndDropsTheRest) {
  auto tasks = test::synthetic_tasks(1, 4, {1}, {16, 32});  // 8 tasks, batches of 2
  StoppingBackend backend;
  MemorySink sink;
  DistContext ctx;
  auto out = run_sweep(ctx, tasks, backend, &sink, quiet_options(2));
  EXPECT_TRUE(out.interrupted);
  EXPECT_FALSE(out.completed);
  EXPECT_EQ(out.stop_signal, 15);
  EXPECT_EQ(out.counts.rows_stored, 4);
  EXPECT_EQ(out.counts.tasks_unfinished, 4);
  EXPECT_EQ(sink.rows.size(), 4u);
  EXPECT_EQ(sink.flushed_at.back(), 4u);
  clear_stop();  // the flag would stop every later sweep of this process
}
