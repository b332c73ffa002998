// The open datasets of one results file: appending rows and their arrays, and marking stored
// rows superseded. No dedup and no journal: ResultsWriter decides what is written. Private to
// src/store.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crammer/core/result.hpp"
#include "crammer/store/results_file.hpp"
#include "h5.hpp"

namespace crammer::store {

class Appender {
 public:
  Appender(hid_t file, const std::string& path, const RunHeader& header);

  hsize_t rows() const { return rows_; }
  // Appends the arrays, then the rows (a reader that sees a row finds its arrays after a flush).
  void append(const std::vector<TaskResult>& rows);
  // Sets the status of stored rows (row numbers) in place.
  void set_status(const std::vector<uint64_t>& rows, TaskStatus status);
  void close();

 private:
  struct Memory {
    std::string name;
    h5::Id dataset;
    hsize_t size = 0;
  };

  h5::Id open(hid_t file, const std::string& name);

  std::string path_;
  h5::Id results_, loss_, acc_, row_type_;
  hsize_t rows_ = 0;
  hsize_t curve_size_ = 0;
  std::map<int32_t, Memory> memory_;
  std::vector<Memory> series_;  // per result_series(), in order
};

// Whether an open file can take today's rows in place: its /results status type names every
// TaskStatus (files written before `superseded` existed do not) and it has a /series dataset
// for every series of the field list (files from before one do not).
bool layout_current(hid_t file, const std::string& path);

}  // namespace crammer::store
