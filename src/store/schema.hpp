// The HDF5 layout of a results file (schema_version 1, documented in docs/results-file.md):
// in-memory row structs, their compound types, and creating / reading the static parts.
// Private to src/store.
#pragma once

#include <string>
#include <vector>

#include "crammer/plan/task.hpp"
#include "crammer/store/results_file.hpp"
#include "h5.hpp"

namespace crammer::schema {

// One row of /results. Only fixed-size fields: SWMR cannot append variable-length data.
struct ResultRow {
  char task_key[kTaskKeyWidth];
  int32_t model_index;
  int64_t sample_id;
  int32_t n_mem;
  int32_t length;
  int8_t status;
  char status_name[8];
  int32_t n_tokens;
  int32_t n_targets;
  double baseline_loss;
  double baseline_acc;
  double best_acc;
  double best_loss;
  int32_t steps;
  int32_t steps_to_best;
  int8_t converged;
  double info_gain_nats;
  double info_gain_bits;
  int32_t token_gain;
  int8_t decode_exact;
  int32_t decode_prefix;
  int32_t capacity;  // capacity-search rows: the sample's capacity; -1 on grid rows
  double wall_seconds;
  int32_t rank;
  char device[kDeviceWidth];
  char error[kErrorWidth];
  int64_t memory_offset;  // into /memory/<model name>; -1: none
  int32_t memory_k;       // rows of the stored [k, d] block
  int32_t memory_d;
  int64_t curve_offset;   // into /curves/loss and /curves/acc; -1: none
  int32_t curve_length;
};

// The columns read on resume.
struct KeyRow {
  char task_key[kTaskKeyWidth];
  int32_t length;
};

h5::Id result_type();  // memory compound type of ResultRow
h5::Id key_type();     // memory compound type of KeyRow (a subset: HDF5 matches by name)

// Throws StoreError when the key does not fit; truncates device and error text.
ResultRow to_row(const TaskResult& r, int64_t memory_offset, int64_t curve_offset,
                 const std::string& where);
TaskResult from_row(const ResultRow& row);

constexpr hsize_t kResultChunk = 512;
constexpr hsize_t kMemoryChunk = 65536;
constexpr hsize_t kCurveChunk = 16384;

// Creates a results file at `path` (libver latest, so SWMR works) holding the header and the
// empty /results, /memory/<model>, /curves tables; returns the open file.
h5::Id create_file(const std::string& path, const RunHeader& header);

// Reads provenance, models and samples of an open results file.
RunHeader read_header(hid_t file, const std::string& path, int32_t* schema_version);

// "/memory/<model name>": a model name must be usable as an HDF5 link name.
std::string memory_dataset(const std::string& model_name);

}  // namespace crammer::schema

namespace crammer::schema {

struct ReadArrays {
  bool memory = false;
  bool curves = false;
};

// All rows of /results of an open file; memory / curves filled on request. Rows whose arrays
// are not (yet) visible to a SWMR reader get empty arrays.
std::vector<TaskResult> read_results(hid_t file, const std::string& path, const RunHeader& header,
                                     ReadArrays arrays);

// Opens a results file for reading: SWMR read first (works while a writer runs), plain read-only
// otherwise. StoreError names the path and says what to do.
h5::Id open_for_reading(const std::string& path);

}  // namespace crammer::schema
