// Names of TaskStatus values as written in results files and `crammer export` (DESIGN §6).
#include "crammer/plan/task.hpp"

namespace crammer {

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::done:
      return "done";
    case TaskStatus::failed:
      return "failed";
    case TaskStatus::skipped:
      return "skipped";
  }
  return "unknown";
}

}  // namespace crammer
