// TaskQueue: pending tasks grouped by model, then by (n_mem, length, capacity_search).
#include "crammer/sweep/scheduler.hpp"

#include <limits>
#include <utility>

namespace crammer {

TaskQueue::TaskQueue(std::vector<Task> tasks) : total_(tasks.size()) {
  for (size_t i = 0; i < tasks.size(); ++i) {
    auto& m = models_[tasks[i].model_index];
    GroupKey g{tasks[i].n_mem, tasks[i].length, tasks[i].capacity_search};
    m.groups[g].push_back(Entry{i, std::move(tasks[i])});
    ++m.pending;
  }
  pending_ = total_;
}

void TaskQueue::requeue(std::vector<Task> tasks) {
  // Order 0: ahead of every pending task of the group, so the lost work is done first.
  for (auto t = tasks.rbegin(); t != tasks.rend(); ++t) {
    auto& m = models_[t->model_index];
    GroupKey g{t->n_mem, t->length, t->capacity_search};
    m.groups[g].push_front(Entry{0, std::move(*t)});
    ++m.pending;
    ++pending_;
  }
}

void TaskQueue::set_holder(int worker, int32_t model) { holder_of_[worker] = model; }

int32_t TaskQueue::choose_model(int32_t held_model) const {
  auto held = models_.find(held_model);
  if (held != models_.end() && held->second.pending > 0) return held_model;
  std::map<int32_t, int> holders;
  for (const auto& [worker, model] : holder_of_) ++holders[model];
  int32_t best = -1;
  double best_share = -1;
  for (const auto& [model, tasks] : models_) {
    if (tasks.pending == 0) continue;
    auto h = holders.find(model);
    // Pending work per worker that would share it: a free worker goes where it is needed most.
    double share = double(tasks.pending) / double(1 + (h == holders.end() ? 0 : h->second));
    if (share > best_share) {  // strict: ties keep the lower model index
      best_share = share;
      best = model;
    }
  }
  return best;
}

std::vector<Task> TaskQueue::take_batch(int32_t held_model, size_t max_batch) {
  std::vector<Task> batch;
  if (pending_ == 0 || max_batch == 0) return batch;
  auto& m = models_.at(choose_model(held_model));
  // The group whose first pending task is earliest in the plan (groups are few: n_mem x lengths).
  std::deque<Entry>* group = nullptr;
  auto group_it = m.groups.end();
  size_t first = std::numeric_limits<size_t>::max();
  for (auto it = m.groups.begin(); it != m.groups.end(); ++it) {
    if (it->second.front().order < first) {
      first = it->second.front().order;
      group = &it->second;
      group_it = it;
    }
  }
  while (!group->empty() && batch.size() < max_batch) {
    batch.push_back(std::move(group->front().task));
    group->pop_front();
  }
  if (group->empty()) m.groups.erase(group_it);  // keeps the scan over live groups only
  m.pending -= batch.size();
  pending_ -= batch.size();
  return batch;
}

std::map<int32_t, size_t> TaskQueue::pending_per_model() const {
  std::map<int32_t, size_t> out;
  for (const auto& [model, tasks] : models_) out[model] = tasks.pending;
  return out;
}

}  // namespace crammer
