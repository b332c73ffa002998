// While crammer reads a results file, a crash inside the HDF5 library becomes a clear "damaged
// file" error with exit 2. HDF5 1.10 trusts the object sizes of its global heap (which holds the
// file's variable-length strings and carries no checksum), so a few damaged bytes there make it
// read out of bounds. Everything else it parses in our files is checksummed and fails cleanly.
// Process-wide (signal handlers); guards nest, the innermost message wins. Private to store.
#pragma once

#include <string>

namespace crammer::store {

class CrashGuard {
 public:
  // `message`: what to print (one line or more, no trailing newline) if HDF5 crashes.
  explicit CrashGuard(const std::string& message);
  ~CrashGuard();
  CrashGuard(const CrashGuard&) = delete;
  CrashGuard& operator=(const CrashGuard&) = delete;

 private:
  std::string previous_;
};

// The message for a crash while reading `path`: names the file and says how to recover.
std::string damaged_file_message(const std::string& path);

}  // namespace crammer::store
