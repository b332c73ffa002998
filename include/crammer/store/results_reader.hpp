// Reads a results file, also while a run writes it (SWMR read), and the helpers behind
// `crammer status` and `crammer export`. Not for writing: see results_writer.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "crammer/plan/task.hpp"
#include "crammer/store/results_file.hpp"

namespace crammer {

struct ReadOptions {
  bool memory = false;  // fill TaskResult::memory / d_model from /memory/<model>
  bool curves = false;  // fill TaskResult::curve_loss / curve_acc from /curves
};

class ResultsReader {
 public:
  /// Opens with SWMR read: sees the rows flushed by a writer that is still running.
  /// Throws StoreError naming `path` when it is missing or not a readable results file.
  explicit ResultsReader(const std::string& path, ReadOptions options = {});

  const std::string& path() const { return path_; }
  int32_t schema_version() const { return schema_version_; }
  const RunInfo& run() const { return header_.run; }
  const std::vector<ModelRecord>& models() const { return header_.models; }
  const std::vector<SampleRecord>& samples() const { return header_.samples; }
  const RunHeader& header() const { return header_; }
  const std::vector<TaskResult>& rows() const { return rows_; }

 private:
  std::string path_;
  int32_t schema_version_ = 0;
  RunHeader header_;
  std::vector<TaskResult> rows_;
};

/// True while a writer holds the results file open (its journal lock is held).
bool writer_active(const std::string& path);

/// CSV of one table on `out`. table "results": task_key, model, sample_id, n_mem, length,
/// status, every DESIGN §2 metric by name, wall_seconds, rank, device, error. Also "models",
/// "samples" and "curves" (task_key, step, loss, accuracy: the points output.curves_every
/// recorded). An unknown table is a ConfigError listing the known ones.
void write_csv(const std::string& path, std::ostream& out, const std::string& table = "results");

struct StatusCounts {
  int64_t done = 0;
  int64_t failed = 0;
  int64_t skipped = 0;
  int64_t total() const { return done + failed + skipped; }
};

struct StatusSummary {
  std::string path;
  int64_t total_rows = 0;
  bool active = false;  // a writer holds the file now
  StatusCounts all;
  std::map<std::string, StatusCounts> by_model;                    // model name
  std::map<std::pair<int32_t, int32_t>, StatusCounts> by_k_length;  // (n_mem, length)
  std::string text() const;  // the human-readable report of `crammer status`
};

StatusSummary status_summary(const std::string& path);

}  // namespace crammer
