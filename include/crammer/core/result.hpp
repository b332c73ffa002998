// What cramming one task (or one probe of a capacity search) produced: one results row.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "crammer/core/task.hpp"

namespace crammer {

// superseded: a row of an attempt that failed and was run again by a later `crammer run`; kept
// in the file as history, left out by every reader of results.
enum class TaskStatus : int8_t { done = 0, failed = 1, skipped = 2, superseded = 3 };
constexpr TaskStatus kTaskStatuses[] = {TaskStatus::done, TaskStatus::failed, TaskStatus::skipped,
                                        TaskStatus::superseded};
// "done" | "failed" | "skipped" | "superseded": the names results files and `crammer export` use.
const char* to_string(TaskStatus s);
// A stored status byte outside the enum is corrupt input; decoders check with this.
inline bool valid_status_byte(int8_t s) {
  return s >= 0 && s <= static_cast<int8_t>(TaskStatus::superseded);
}

// Fixed text widths of a stored row (SWMR datasets cannot hold variable-length data): a task
// key that does not fit is an error, a longer device or error text is cut with "...".
constexpr int kTaskKeyWidth = 128;
constexpr int kDeviceWidth = 32;
constexpr int kErrorWidth = 512;

// Metric names and meanings: DESIGN §2. Keep these field names: export columns use them.
struct TaskResult {
  std::string task_key;
  int32_t model_index = 0;
  int64_t sample_id = 0;
  int32_t n_mem = 0;
  int32_t length = 0;
  int32_t restart = 0;  // which of cram.restarts independent inits (0-based)
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
  // UTF-8 bytes of the crammed text (its tokens decoded, BOS left out); -1 when the sweep has no
  // tokenizer (corpus.format token-ids without one).
  int32_t n_bytes = -1;
  // The paper's lower bound (text_compression_upper_bound): the smallest CE reduction, in nats
  // summed over the targets, after which every target is the argmax of the baseline's
  // distribution; NaN on rows that crammed nothing (failed, skipped).
  double gain_bound_nats = std::numeric_limits<double>::quiet_NaN();
  // The first step whose accuracy reached 0.95 / 0.99 / 1.0 (the steps spent below it); -1: never.
  int32_t steps_to_acc95 = -1;
  int32_t steps_to_acc99 = -1;
  int32_t steps_to_acc100 = -1;
  // Free-running greedy decode from the best mem: the fraction of targets generated right
  // (decode_prefix counts them only up to the first mistake); -1 without cram.decode_check.
  double decode_acc = -1;
  // cram.in_context_control: the text in context instead of [mem] (copy_prompt, then the text
  // without its BOS), mean CE and accuracy over its tokens after the first, as the paper's
  // repeat-text notebook scores them; -1 without the control (a done row's metrics are finite).
  double copy_loss = -1;
  double copy_acc = -1;
  // A progressive search's probe: the length of the converged probe whose best mem it started
  // from, so its added tokens are t_{grown_from + 1}..t_length (their surprisal s(length) -
  // s(grown_from), s = baseline_loss x n_targets); 0: it started from its own init (every grid
  // and bisect row, a search's first probe).
  int32_t grown_from = 0;

  double wall_seconds = 0;
  int32_t rank = 0;
  std::string device;
  std::string error;  // non-empty for failed and skipped rows

  std::vector<float> memory;      // optional best mem, [k, d] row-major (output.save_memory)
  int32_t d_model = 0;            // second dimension of `memory`
  std::vector<float> curve_loss;  // optional, every output.curves_every steps
  std::vector<float> curve_acc;
  // Optional (output.attention_mass), one value per attention layer of the model, in order: the
  // share of attention the text's positions put on the k [mem] positions at the best mem,
  // averaged over heads and over those positions (the last [mem] vector to t_{N-1}; one-step:
  // the N - 1 copies of m). Empty for models without attention layers (mamba).
  std::vector<float> mem_attention;
};

// Task::prefix_bytes at `length`: -1 when the task carries none there.
int32_t bytes_of_prefix(const Task& task, int32_t length);

// The row of a task that could not be crammed at `length` (its own length for a grid task, the
// probe's for a search); an empty error becomes "unknown error" so a failed row always says why.
TaskResult failed_result(const Task& task, int32_t length, const std::string& error, int32_t rank,
                         const std::string& device);

}  // namespace crammer
