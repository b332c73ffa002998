// The single writer of a results file (rank 0 only): creates or resumes the file, appends
// result rows durably (journal fsync'ed before append returns), flushes them into the HDF5
// file for SWMR readers. Not for reading: see results_reader.hpp.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crammer/core/records.hpp"
#include "crammer/core/result.hpp"
#include "crammer/store/results_file.hpp"

namespace crammer {

class ResultsWriter {
 public:
  ResultsWriter();
  ~ResultsWriter();  // close()s; errors are logged, not thrown
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  /// Opens `path`. resume: an existing file must carry run.config_fingerprint (ConfigError
  /// otherwise); a file left by a crash is rebuilt from its journal; `models` and `samples`
  /// are ignored when the file exists. fresh: any existing file and journal are replaced.
  /// Throws StoreError when another process writes the file (journal lock held).
  void open(const std::string& path, const RunInfo& run, const std::vector<ModelRecord>& models,
            const std::vector<SampleRecord>& samples, OpenMode mode = OpenMode::resume);

  /// Task keys the caller skips: every key with a stored row, except keys whose rows include a
  /// failed one (those run again) unless keep_failed.
  std::set<std::string> finished_keys(bool keep_failed = false) const;
  /// Task keys whose stored rows include a failed one.
  size_t failed_tasks() const;
  /// True when a live row (task_key, length) is stored.
  bool has_row(const std::string& task_key, int32_t length) const;

  /// Stores rows; a row whose (task_key, length) is already stored is ignored. Rows of a task
  /// whose stored rows include a failed one replace them: the old rows are marked superseded.
  /// When append returns, the new rows are on disk (journal fsync'ed); flush() makes them
  /// visible to readers of the HDF5 file. Returns the number of rows newly stored.
  size_t append(const std::vector<TaskResult>& rows);

  /// Pushes appended rows into the HDF5 file so that SWMR readers see them.
  void flush();

  /// Flushes, closes the HDF5 file and marks the journal clean. Idempotent.
  void close();

  bool is_open() const;
  const std::string& path() const;
  size_t row_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crammer
