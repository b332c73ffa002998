// The HDF5 layout of a results file (schema_version 1, documented in docs/results-file.md):
// creating it, reading its header and rows. The /results row itself: row_layout.hpp.
// Private to src/store.
#pragma once

#include <string>
#include <vector>

#include "crammer/core/result.hpp"
#include "crammer/store/results_file.hpp"
#include "h5.hpp"
#include "row_layout.hpp"

namespace crammer::schema {

// The columns read on resume.
struct KeyRow {
  char task_key[kTaskKeyWidth];
  int32_t length;
  int8_t status;  // a TaskStatus
};

h5::Id key_type();  // memory compound type of KeyRow (a subset of /results: HDF5 matches by name)

// Metadata read attempts of every open (readers and the writer): enough for a SWMR reader to
// wait out a writer's flush, bounded on a damaged file.
constexpr unsigned kMetadataReadAttempts = 12;

constexpr hsize_t kResultChunk = 512;
constexpr hsize_t kMemoryChunk = 65536;
constexpr hsize_t kCurveChunk = 16384;

// Creates a results file at `path` (libver latest, so SWMR works) holding the header and the
// empty /results, /memory/<model>, /curves and /series tables; returns the open file.
h5::Id create_file(const std::string& path, const RunHeader& header);

// Reads provenance, models and samples of an open results file.
RunHeader read_header(hid_t file, const std::string& path, int32_t* schema_version);

// "/memory/<model name>": a model name must be usable as an HDF5 link name.
std::string memory_dataset(const std::string& model_name);

// "/series/<name>": where a series of the field list (result_series()) lies, every row's values
// one after another.
std::string series_dataset(const std::string& name);

}  // namespace crammer::schema

namespace crammer::schema {

struct ReadArrays {
  bool memory = false;
  bool curves = false;
  bool series = false;
};

// All rows of /results of an open file; memory / curves filled on request. Rows whose arrays
// are not (yet) visible to a SWMR reader get empty arrays.
std::vector<TaskResult> read_results(hid_t file, const std::string& path, const RunHeader& header,
                                     ReadArrays arrays);

// What to do about a damaged results file: rerun (its journal rebuilds it), or move it away.
std::string rebuild_advice(const std::string& path);
// True when `path`'s journal holds records a run can rebuild the file from.
bool journal_holds_records(const std::string& path);
// For a file whose damage a run would meet again before it could rebuild (it reads the file
// first): move it away, then the journal rebuilds it; or start over where there is none.
std::string move_away_advice(const std::string& path);

// Opens a results file for reading: SWMR read first (works while a writer runs), plain read-only
// otherwise. StoreError names the path and says what to do.
h5::Id open_for_reading(const std::string& path);

}  // namespace crammer::schema
