// One unit of work of a sweep (a Task) and what cramming it produced (a TaskResult).
// Torch-free: the plan, store and dist layers pass these around without LibTorch.
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

// One sample as tokenized for one model (tokenizers differ between models).
struct SampleRecord {
  int64_t sample_id = 0;
  int32_t model_index = 0;
  std::string source;      // corpus file (or "random-words")
  int64_t offset = 0;      // byte offset of the span in the source (line number for jsonl)
  int64_t text_offset = 0; // byte offset of the span in its document's text (jsonl: in the field)
  std::string text_kind;   // natural | random-words | token-ids
  std::string text;        // the sampled text (enough for the largest length)
  std::vector<int32_t> token_ids;
};

// What the results file records about each model of the sweep.
struct ModelRecord {
  int32_t model_index = 0;
  std::string name;
  std::string path;
  std::string dtype;
  std::string model_type;
  int64_t d_model = 0;
  int64_t num_layers = 0;
  int64_t vocab_size = 0;
  int64_t n_params = 0;
  int32_t bos_token = -1;  // the BOS id every text of this model starts with; -1: none added
};

enum class TaskStatus : int8_t { done = 0, failed = 1, skipped = 2 };
const char* to_string(TaskStatus s);

// Metric names and meanings: DESIGN §2. Keep these field names: export columns use them.
struct TaskResult {
  std::string task_key;
  int32_t model_index = 0;
  int64_t sample_id = 0;
  int32_t n_mem = 0;
  int32_t length = 0;
  TaskStatus status = TaskStatus::done;

  int32_t n_tokens = 0;
  int32_t n_targets = 0;
  double baseline_loss = 0;
  double baseline_acc = 0;
  double best_acc = 0;
  double best_loss = 0;
  int32_t steps = 0;
  int32_t steps_to_best = 0;
  bool converged = false;
  double info_gain_nats = 0;
  double info_gain_bits = 0;
  int32_t token_gain = 0;
  bool decode_exact = false;
  int32_t decode_prefix = 0;
  // Capacity-search tasks only (same value on every probe row of the task): the largest probed
  // length that converged, 0 if none; -1 on grid rows (analysis derives it from the grid).
  int32_t capacity = -1;

  double wall_seconds = 0;
  int32_t rank = 0;
  std::string device;
  std::string error;  // non-empty for failed and skipped rows

  std::vector<float> memory;      // optional best mem, [k, d] row-major (output.save_memory)
  int32_t d_model = 0;            // second dimension of `memory`
  std::vector<float> curve_loss;  // optional, every output.curves_every steps
  std::vector<float> curve_acc;
};

}  // namespace crammer
