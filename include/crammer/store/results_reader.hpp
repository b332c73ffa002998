// Reads a results file, also while a run writes it (SWMR read). Not for writing: see
// results_writer.hpp; `crammer export`: export.hpp; `crammer status`: status.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crammer/core/records.hpp"
#include "crammer/core/result.hpp"
#include "crammer/store/results_file.hpp"

namespace crammer {

struct ReadOptions {
  bool memory = false;  // fill TaskResult::memory / d_model from /memory/<model>
  bool curves = false;  // fill TaskResult::curve_loss / curve_acc from /curves
  bool series = false;  // fill the field list's series (TaskResult::mem_attention) from /series
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

}  // namespace crammer
