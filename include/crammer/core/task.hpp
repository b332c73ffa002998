// One unit of work of a sweep. Torch-free, like all of crammer/core: the plan, cram, store and
// sweep layers pass it around.
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
  int32_t restart = 0;      // which of cram.restarts independent inits (0-based)
  bool capacity_search = false;
  // corpus.prefix_tokens real tokens before the text (the sample's first ones), not crammed:
  // input in the baseline and after the [mem] vectors. Empty without a context.
  std::vector<int32_t> context;
  std::vector<int32_t> token_ids;  // the text to cram: its first `length` tokens (after the context)
  // [length + 1] or empty (no tokenizer): entry i is the UTF-8 byte count of the first i tokens
  // decoded (BOS left out), -1 where no row can have that length (a grid task needs [length]).
  std::vector<int32_t> prefix_bytes;
  // cram.in_context_control: the prompt "text: TEXT\nrepeat previous text: " tokenized as the
  // model's texts are (its BOS included), and where in token_ids the copied text starts (1 past
  // a BOS, else 0). Empty without the control.
  std::vector<int32_t> copy_prompt;
  int32_t copy_from = 0;
};

}  // namespace crammer
