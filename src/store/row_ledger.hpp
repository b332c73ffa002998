// Which stored rows of a results file are live, in storage order. A rerun runs again the tasks
// whose live rows include a failed one; before the new rows are stored, every live row of such a
// task is marked superseded (kept as history, read by no analysis). The writer journals the
// superseded keys and the new rows as one record, and a rebuild from the journal replays it, so
// the two give the same file.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crammer/core/result.hpp"

namespace crammer::store {

class RowLedger {
 public:
  // A row already in the file, or just written; call in row order.
  void add(const std::string& key, int32_t length, TaskStatus status);
  // Indices into `batch` of the rows to store: not live already (rows of `replaced` keys count as
  // gone) and not twice in the batch. Superseded rows (a copied file's history) always are.
  std::vector<size_t> fresh(const std::vector<TaskResult>& batch, const std::set<std::string>& replaced = {}) const;
  // Stored row numbers of the live rows of `keys`.
  std::vector<uint64_t> live_rows(const std::set<std::string>& keys) const;
  // Marks every live row of `keys` superseded.
  void supersede(const std::set<std::string>& keys);

  bool has_row(const std::string& key, int32_t length) const { return live_ids_.count(id(key, length)) > 0; }
  // Keys whose tasks need not run again: every key with a live row, except (unless keep_failed)
  // those with a live failed row.
  std::set<std::string> finished_keys(bool keep_failed) const;
  // Keys with a live failed row.
  std::set<std::string> failed_keys() const;
  uint64_t rows() const { return rows_; }

 private:
  struct Live {
    std::vector<std::pair<uint64_t, int32_t>> rows;  // row number, length
    bool failed = false;
  };
  static std::string id(const std::string& key, int32_t length) { return key + '\n' + std::to_string(length); }

  uint64_t rows_ = 0;
  std::unordered_set<std::string> live_ids_;
  std::unordered_map<std::string, Live> live_;
};

}  // namespace crammer::store
