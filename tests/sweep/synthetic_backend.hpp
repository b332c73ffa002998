// A TEST backend for the sweep layer: no model, fake but deterministic metrics computed from an
// FNV-1a hash of the task key (tests/sweep/mpi_sweep_test.py recomputes them independently).
// Optionally throws for chosen keys and sleeps per task (polling stop_requested()).
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "crammer/sweep/sweep.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"

namespace crammer::test {

inline uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The fake metrics of one task: a pure function of the task (never of rank or batch).
inline TaskResult synthetic_result(const Task& t) {
  uint64_t h = fnv1a64(t.key);
  TaskResult r;
  r.task_key = t.key;
  r.model_index = t.model_index;
  r.sample_id = t.sample_id;
  r.n_mem = t.n_mem;
  r.length = t.length;
  r.n_tokens = t.length;
  r.n_targets = t.length - 1;
  r.best_acc = double(h % 1001) / 1000.0;
  r.best_loss = double((h >> 10) % 10000) / 1000.0;
  r.steps = int32_t((h >> 20) % 5000);
  int64_t token_sum = 0;
  for (auto id : t.token_ids) token_sum += id;
  r.token_gain = int32_t(token_sum % 97);
  r.d_model = 4;
  for (int i = 0; i < t.n_mem * r.d_model; ++i) {
    r.memory.push_back(float((h >> (i % 32)) & 0xff) / 255.0f);
  }
  r.curve_loss = {float(r.best_loss) + 2.0f, float(r.best_loss) + 1.0f, float(r.best_loss)};
  r.curve_acc = {0.0f, 0.5f, float(r.best_acc)};
  return r;
}

class SyntheticBackend : public WorkerBackend {
 public:
  // A task whose key contains one of fail_substrings throws (a failed row after the retries);
  // one of fatal_substrings throws StopRunError (the run stops).
  SyntheticBackend(std::vector<std::string> fail_substrings = {}, int task_ms = 0,
                   std::vector<std::string> fatal_substrings = {})
      : fail_(std::move(fail_substrings)), fatal_(std::move(fatal_substrings)), task_ms_(task_ms) {}

  std::vector<TaskResult> run(const std::vector<Task>& batch) override {
    ++calls;
    batch_sizes.push_back(batch.size());
    std::vector<TaskResult> out;
    for (const auto& t : batch) {
      if (t.model_index != batch.front().model_index || t.n_mem != batch.front().n_mem ||
          t.length != batch.front().length) {
        throw std::logic_error("mixed batch: " + t.key + " with " + batch.front().key);
      }
      for (const auto& f : fail_) {
        if (t.key.find(f) != std::string::npos) {
          throw std::runtime_error("synthetic failure for " + t.key);
        }
      }
      for (const auto& f : fatal_) {
        if (t.key.find(f) != std::string::npos) throw StopRunError("synthetic model failure at " + t.key);
      }
    }
    held_ = batch.front().model_index;
    for (const auto& t : batch) {
      for (int ms = 0; ms < task_ms_; ms += 5) {
        if (stop_requested()) throw Interrupted{};
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      out.push_back(synthetic_result(t));
    }
    return out;
  }
  int32_t held_model() const override { return held_; }

  int calls = 0;
  std::vector<size_t> batch_sizes;

 private:
  std::vector<std::string> fail_;
  std::vector<std::string> fatal_;
  int task_ms_;
  int32_t held_ = -1;
};

// Tasks like the planner's: model-major, then n_mem, length, sample. Key "m<M>/k<K>/L<L>/s<S>".
inline std::vector<Task> synthetic_tasks(int models, int samples,
                                         std::vector<int32_t> n_mems = {1, 2},
                                         std::vector<int32_t> lengths = {16, 32}) {
  std::vector<Task> tasks;
  for (int m = 0; m < models; ++m) {
    for (auto k : n_mems) {
      for (auto len : lengths) {
        for (int s = 0; s < samples; ++s) {
          Task t;
          t.key = "m" + std::to_string(m) + "/k" + std::to_string(k) + "/L" + std::to_string(len) +
                  "/s" + std::to_string(s);
          t.model_index = m;
          t.sample_id = s;
          t.n_mem = k;
          t.length = len;
          for (int i = 0; i < len; ++i) t.token_ids.push_back((s * 131 + i * 7) % 50000);
          tasks.push_back(std::move(t));
        }
      }
    }
  }
  return tasks;
}

}  // namespace crammer::test
