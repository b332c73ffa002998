#include "sweep_ledger.hpp"

#include <string>
#include <unordered_map>

namespace crammer {
namespace {

using Clock = std::chrono::steady_clock;

// Task status of a group of rows: failed if any row failed; converged if a row reached the target
// accuracy (a capacity search's rows are the lengths it tried, most of them not crammed).
struct TaskTally {
  int32_t model;
  TaskStatus status;
  bool converged;
};

std::vector<TaskTally> tally(const std::vector<TaskResult>& rows) {
  std::vector<TaskTally> tasks;  // per distinct key
  std::unordered_map<std::string, size_t> index;
  for (const auto& r : rows) {
    auto [it, fresh] = index.emplace(r.task_key, tasks.size());
    if (fresh) {
      tasks.push_back({r.model_index, r.status, r.converged});
      continue;
    }
    auto& task = tasks[it->second];
    if (r.status == TaskStatus::failed) task.status = TaskStatus::failed;
    task.converged = task.converged || r.converged;
  }
  return tasks;
}

std::map<int32_t, int64_t> totals(const std::vector<Task>& tasks) {
  std::map<int32_t, int64_t> out;
  for (const auto& t : tasks) ++out[t.model_index];
  return out;
}

void add_to(SweepCounts& counts, const TaskTally& task) {
  ++(task.status == TaskStatus::failed ? counts.tasks_failed : counts.tasks_done);
}

}  // namespace

void count_tasks(SweepCounts& counts, const std::vector<TaskResult>& rows) {
  for (const auto& task : tally(rows)) add_to(counts, task);
}

Ledger::Ledger(ResultSink& sink, const SweepOptions& options, const std::vector<Task>& tasks, SweepCounts& counts)
    : sink_(sink), options_(options), counts_(counts), progress_(options.progress, totals(tasks)),
      last_flush_(Clock::now()) {}

void Ledger::store(const std::vector<TaskResult>& rows) {
  if (rows.empty()) return;
  sink_.store_batch(rows);
  counts_.rows_stored += static_cast<int64_t>(rows.size());  // only after it returned: never claimed early
  unflushed_ += static_cast<int64_t>(rows.size());
  for (const auto& task : tally(rows)) {
    add_to(counts_, task);
    progress_.record(task.model, task.status, task.converged);
  }
}

void Ledger::tick() {
  auto now = Clock::now();
  if (unflushed_ > 0 && std::chrono::duration<double>(now - last_flush_).count() >= options_.flush_seconds) flush();
  progress_.update();
}

void Ledger::finish() {
  flush();
  progress_.finish();
}

void Ledger::flush() {
  sink_.flush();
  unflushed_ = 0;
  last_flush_ = Clock::now();
}

}  // namespace crammer
