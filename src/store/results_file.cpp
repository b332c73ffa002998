// Small shared definitions of the results file (see results_file.hpp).
#include "crammer/store/results_file.hpp"

namespace crammer {

const char* status_name(TaskStatus s) {
  switch (s) {
    case TaskStatus::done: return "done";
    case TaskStatus::failed: return "failed";
    case TaskStatus::skipped: return "skipped";
  }
  return "unknown";
}

std::string journal_path(const std::string& results_path) { return results_path + ".journal"; }

}  // namespace crammer
