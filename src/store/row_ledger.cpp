// The live-row bookkeeping of results files (row_ledger.hpp).
#include "row_ledger.hpp"

namespace crammer::store {

void RowLedger::add(const std::string& key, int32_t length, TaskStatus status) {
  const uint64_t row = rows_++;
  if (status == TaskStatus::superseded) return;  // history: never live
  live_ids_.insert(id(key, length));
  Live& l = live_[key];
  l.rows.emplace_back(row, length);
  l.failed = l.failed || status == TaskStatus::failed;
}

std::vector<size_t> RowLedger::fresh(const std::vector<TaskResult>& batch, const std::set<std::string>& replaced) const {
  std::vector<size_t> out;
  std::unordered_set<std::string> ids;
  for (size_t i = 0; i < batch.size(); ++i) {
    const TaskResult& r = batch[i];
    if (r.status == TaskStatus::superseded) {
      out.push_back(i);
      continue;
    }
    const std::string rid = id(r.task_key, r.length);
    const bool stored = live_ids_.count(rid) > 0 && !replaced.count(r.task_key);
    if (stored || !ids.insert(rid).second) continue;
    out.push_back(i);
  }
  return out;
}

std::vector<uint64_t> RowLedger::live_rows(const std::set<std::string>& keys) const {
  std::vector<uint64_t> out;
  for (const auto& key : keys) {
    auto l = live_.find(key);
    if (l == live_.end()) continue;
    for (const auto& row : l->second.rows) out.push_back(row.first);
  }
  return out;
}

void RowLedger::supersede(const std::set<std::string>& keys) {
  for (const auto& key : keys) {
    auto l = live_.find(key);
    if (l == live_.end()) continue;
    for (const auto& row : l->second.rows) live_ids_.erase(id(key, row.second));
    live_.erase(l);
  }
}

std::set<std::string> RowLedger::finished_keys(bool keep_failed) const {
  std::set<std::string> out;
  for (const auto& [key, l] : live_)
    if (keep_failed || !l.failed) out.insert(key);
  return out;
}

std::set<std::string> RowLedger::failed_keys() const {
  std::set<std::string> out;
  for (const auto& [key, l] : live_)
    if (l.failed) out.insert(key);
  return out;
}

}  // namespace crammer::store
