// TaskStatus names and the failed row (see crammer/core/result.hpp).
#include "crammer/core/result.hpp"

namespace crammer {

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::done:
      return "done";
    case TaskStatus::failed:
      return "failed";
    case TaskStatus::skipped:
      return "skipped";
    case TaskStatus::superseded:
      return "superseded";
  }
  return "unknown";
}

int32_t bytes_of_prefix(const Task& task, int32_t length) {
  if (length < 0 || static_cast<size_t>(length) >= task.prefix_bytes.size()) return -1;
  return task.prefix_bytes[static_cast<size_t>(length)];
}

TaskResult failed_result(const Task& task, int32_t length, const std::string& error, int32_t rank,
                         const std::string& device) {
  TaskResult r;
  r.task_key = task.key;
  r.model_index = task.model_index;
  r.sample_id = task.sample_id;
  r.n_mem = task.n_mem;
  r.length = length;
  r.restart = task.restart;
  r.n_tokens = length;
  r.n_bytes = bytes_of_prefix(task, length);
  r.status = TaskStatus::failed;
  r.error = error.empty() ? std::string("unknown error") : error;
  r.rank = rank;
  r.device = device;
  return r;
}

}  // namespace crammer
