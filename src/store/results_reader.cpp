// ResultsReader: a results file read whole (see results_reader.hpp).
#include "crammer/store/results_reader.hpp"

#include "crammer/util/error.hpp"
#include "h5.hpp"
#include "journal.hpp"
#include "schema.hpp"

namespace crammer {

ResultsReader::ResultsReader(const std::string& path, ReadOptions options) : path_(path) {
  h5::Id file = schema::open_for_reading(path);
  header_ = schema::read_header(file, path, &schema_version_);
  rows_ = schema::read_results(file, path, header_, {options.memory, options.curves});
}

bool writer_active(const std::string& path) { return journal_locked(journal_path(path)); }

}  // namespace crammer
