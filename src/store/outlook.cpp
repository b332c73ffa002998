// `crammer plan`'s word on an existing results file (outlook.hpp).
#include "crammer/store/outlook.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <set>

#include "crammer/store/results_reader.hpp"
#include "crammer/util/error.hpp"
#include "row_ledger.hpp"

namespace crammer {

std::string resume_outlook(const std::string& path, const std::string& fingerprint,
                           const std::vector<std::string>& task_keys) {
  const size_t total = std::set<std::string>(task_keys.begin(), task_keys.end()).size();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fmt::format("results file {} does not exist yet: crammer run creates it and runs all {} tasks\n", path,
                       total);
  try {
    ResultsReader reader(path, {false, false});
    if (reader.run().config_fingerprint != fingerprint)
      return fmt::format("results file {} holds {} rows written under another config (fingerprint {}, this one {}): "
                         "crammer run refuses it; use another output.path, or --fresh to replace it\n",
                         path, reader.rows().size(), reader.run().config_fingerprint, fingerprint);
    // Which tasks run again is the writer's own rule (row_ledger.hpp); the counts are for the text.
    store::RowLedger ledger;
    size_t done = 0, n_failed = 0, skipped = 0, superseded = 0;
    for (const auto& r : reader.rows()) {
      ledger.add(r.task_key, r.length, r.status);
      switch (r.status) {
        case TaskStatus::done: ++done; break;
        case TaskStatus::skipped: ++skipped; break;
        case TaskStatus::failed: ++n_failed; break;
        case TaskStatus::superseded: ++superseded; break;
      }
    }
    const std::set<std::string> finished = ledger.finished_keys(/*keep_failed=*/false);
    const std::set<std::string> failed = ledger.failed_keys();
    size_t stored = 0, to_retry = 0;
    for (const auto& key : std::set<std::string>(task_keys.begin(), task_keys.end())) {
      if (failed.count(key)) ++to_retry;
      else if (finished.count(key)) ++stored;
    }
    std::string out = fmt::format(
        "results file {} holds {} rows ({} done, {} failed, {} skipped, {} superseded){}: crammer run resumes it, "
        "{} of {} tasks left to run",
        path, reader.rows().size(), done, n_failed, skipped, superseded,
        writer_active(path) ? ", and a run is writing it now" : "", total - stored, total);
    if (to_retry > 0) out += fmt::format(" ({} stored as failed run again unless --keep-failed)", to_retry);
    return out + "\n";
  } catch (const StoreError& e) {
    return fmt::format("results file {} cannot be resumed as it is: {}\n", path, e.what());
  }
}

}  // namespace crammer
