// `crammer status`: counts of done / failed / skipped rows of a results file, also while a run
// writes it, and how many of the plan's tasks are stored. Superseded rows (failed attempts run
// again) are counted apart.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace crammer {

struct StatusCounts {
  int64_t done = 0;
  int64_t failed = 0;
  int64_t skipped = 0;
  int64_t tasks = 0;    // distinct tasks with a live row (a capacity search has several rows)
  int64_t planned = -1; // tasks of the plan (models table); -1: unknown (older files)
  int64_t total() const { return done + failed + skipped; }  // live rows (superseded ones are not)
};

struct StatusSummary {
  std::string path;
  int64_t total_rows = 0;
  int64_t superseded = 0;  // rows of failed attempts that a later run replaced
  bool active = false;  // a writer holds the file now
  StatusCounts all;
  std::map<std::string, StatusCounts> by_model;                    // model name
  std::map<std::pair<int32_t, int32_t>, StatusCounts> by_k_length;  // (n_mem, length)
  std::string text() const;  // the human-readable report of `crammer status`
};

StatusSummary status_summary(const std::string& path);

}  // namespace crammer
