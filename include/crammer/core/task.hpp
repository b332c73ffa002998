// One unit of work of a sweep. Torch-free, like all of crammer/core: the plan, cram, store and
// dist layers pass it around.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crammer {

// A grid task crams one text at one length and yields one result row. A capacity-search task
// (cram.search bisect | progressive) has capacity_search set, `length` is the largest length
// it may probe, and it yields one row per probe; every row carries the task's key and the rows
// of one task are stored together, so resume treats a task as all-or-nothing.
struct Task {
  std::string key;          // stable across runs and rank counts: see plan/planner
  int32_t model_index = 0;  // index into ExperimentConfig::models
  int64_t sample_id = 0;    // index into the run's sample table
  int32_t n_mem = 1;        // k
  int32_t length = 0;       // target length in tokens
  bool capacity_search = false;
  std::vector<int32_t> token_ids;  // the text to cram: the first `length` tokens of the sample
};

}  // namespace crammer
