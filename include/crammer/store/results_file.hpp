// Types shared by the results writer and reader: run provenance, open mode, schema constants.
// The layout of the HDF5 file and of its journal is documented in docs/results-file.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crammer/core/records.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

/// Provenance of a run, stored as root attributes of the results file.
struct RunInfo {
  std::string config_yaml;         // the resolved config
  std::string config_fingerprint;  // hash of the resolved config: resume refuses a different one
  std::string command_line;
  std::string start_time;          // ISO 8601
  std::vector<std::string> hosts;
  // keys such as crammer, git_commit, libtorch, mpi, hdf5; stored as attribute version_<key>
  std::map<std::string, std::string> versions;
};

/// resume: keep an existing file (same config fingerprint) and skip its task keys.
/// fresh: delete an existing file and its journal, start empty.
enum class OpenMode { resume, fresh };

/// Everything stored at the top of a results file: written once, when the file is created.
struct RunHeader {
  RunInfo run;
  std::vector<ModelRecord> models;
  std::vector<SampleRecord> samples;
};

constexpr int32_t kSchemaVersion = 1;
// Text widths of /results rows: kTaskKeyWidth, kDeviceWidth, kErrorWidth (core/result.hpp).

/// The journal that sits next to a results file: "<path>.journal".
std::string journal_path(const std::string& results_path);

}  // namespace crammer
