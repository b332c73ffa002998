// The coordinator's queue of pending tasks and the batch choice of DESIGN §4: a worker that
// holds model M gets tasks of M (a model load is expensive), all of one (n_mem, length) group so
// the engine can cram them as one batch. Pure bookkeeping: no MPI, no timing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "crammer/core/result.hpp"

namespace crammer {

class TaskQueue {
 public:
  explicit TaskQueue(std::vector<Task> tasks);

  // Up to max_batch tasks of one (model, n_mem, length, capacity_search) group, in plan order.
  // Model: held_model when it has pending tasks; otherwise the model with the most pending tasks
  // per worker already holding it (spreads workers over models; ties -> lower index). Group: the
  // one whose first pending task comes first in plan order. Empty when nothing is pending.
  std::vector<Task> take_batch(int32_t held_model, size_t max_batch);

  // Puts back tasks handed out to a worker that was lost; they come first in their group.
  void requeue(std::vector<Task> tasks);

  // Tells the queue which model a worker holds (-1: none), for the model choice above.
  void set_holder(int worker, int32_t model);

  size_t pending() const { return pending_; }
  size_t total() const { return total_; }
  bool empty() const { return pending_ == 0; }
  // Pending tasks per model index.
  std::map<int32_t, size_t> pending_per_model() const;

 private:
  using GroupKey = std::tuple<int32_t, int32_t, bool>;  // n_mem, length, capacity_search
  struct Entry {
    size_t order;  // position in the plan
    Task task;
  };
  struct ModelTasks {
    std::map<GroupKey, std::deque<Entry>> groups;
    size_t pending = 0;
  };
  int32_t choose_model(int32_t held_model) const;

  std::map<int32_t, ModelTasks> models_;
  std::unordered_map<int, int32_t> holder_of_;  // worker -> model
  size_t pending_ = 0;
  size_t total_ = 0;
};

}  // namespace crammer
