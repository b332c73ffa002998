// ResultsReader: a results file read whole (see results_reader.hpp).
#include "crammer/store/results_reader.hpp"

#include "crammer/util/error.hpp"
#include "crash_guard.hpp"
#include "h5.hpp"
#include "journal.hpp"
#include "schema.hpp"

namespace crammer {

ResultsReader::ResultsReader(const std::string& path, ReadOptions options) : path_(path) {
  store::CrashGuard guard(store::damaged_file_message(path));
  h5::Id file = schema::open_for_reading(path);
  try {
    header_ = schema::read_header(file, path, &schema_version_);
    rows_ = schema::read_results(file, path, header_, {options.memory, options.curves, options.series});
  } catch (const ResultsFileError&) {
    throw;
  } catch (const StoreError& e) {
    // The file opened but its contents do not read: damaged input, not a failure of ours.
    throw ResultsFileError("results file " + path + " is damaged. " + schema::rebuild_advice(path) + "\n" +
                           e.what());
  }
}

bool writer_active(const std::string& path) { return journal_locked(journal_path(path)); }

}  // namespace crammer
