// Rank 0's side of a sweep's results (and the one-process path's): store each batch's rows,
// count tasks done, failed and converged, flush on a timer, drive the progress display.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "crammer/sweep/progress.hpp"
#include "crammer/sweep/sweep.hpp"

namespace crammer {

// Adds the tasks of `rows` to counts.tasks_done / tasks_failed (a task with any failed row failed).
void count_tasks(SweepCounts& counts, const std::vector<TaskResult>& rows);

class Ledger {
 public:
  Ledger(ResultSink& sink, const SweepOptions& options, const std::vector<Task>& tasks, SweepCounts& counts);

  // Stores `rows` (nothing when empty) and counts their tasks once the sink has them.
  void store(const std::vector<TaskResult>& rows);
  // Flushes when flush_seconds have passed since the last flush; redraws progress.
  void tick();
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void flush();

  ResultSink& sink_;
  const SweepOptions& options_;
  SweepCounts& counts_;
  Progress progress_;
  Clock::time_point last_flush_;
  int64_t unflushed_ = 0;
};

}  // namespace crammer
