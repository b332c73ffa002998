// Progress of a sweep on rank 0: done/total, tasks/s, ETA, converged and failed, per model. A live single-line bar
// when stderr is a terminal, a log line every `log_seconds` otherwise (batch jobs, CI logs).
// Counts what the coordinator STORED, never what was merely handed out.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crammer/core/result.hpp"

namespace crammer {

struct ProgressOptions {
  enum class Mode { automatic, bar, log, off };
  Mode mode = Mode::automatic;      // automatic: bar on a TTY, log lines otherwise
  double log_seconds = 30;          // interval of log lines
  double bar_seconds = 0.25;        // redraw interval of the bar
  std::vector<std::string> model_names;  // by model index; "m<i>" when missing
};

// "auto" | "bar" | "log" | "off"; anything else throws ConfigError naming the value.
ProgressOptions::Mode parse_progress_mode(const std::string& text);

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  // total_per_model: tasks of this run per model index.
  Progress(ProgressOptions options, std::map<int32_t, int64_t> total_per_model);

  // converged: the task reached the target accuracy (a row with TaskResult::converged).
  void record(int32_t model_index, TaskStatus status, bool converged = false);
  // Draws / logs when the interval has passed (or force).
  void update(bool force = false);
  // Final line (the bar ends with a newline).
  void finish();

  // The status text at `elapsed_seconds` after start: pure, for tests and the log line.
  std::string status_line(double elapsed_seconds) const;

  int64_t done() const { return done_; }
  int64_t failed() const { return failed_; }
  int64_t converged() const { return converged_; }
  int64_t total() const { return total_; }

 private:
  struct PerModel {
    int64_t total = 0;
    int64_t finished = 0;
  };
  std::string model_name(int32_t index) const;

  ProgressOptions options_;
  bool bar_ = false;
  bool enabled_ = true;
  std::map<int32_t, PerModel> models_;
  int64_t total_ = 0;
  int64_t done_ = 0;    // done + failed + skipped: finished tasks
  int64_t failed_ = 0;
  int64_t converged_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drew_bar_ = false;
};

// "1h02m03s", "4m05s", "12s"; "?" for negative or non-finite.
std::string format_duration(double seconds);

}  // namespace crammer
