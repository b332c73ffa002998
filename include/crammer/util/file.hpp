// Whole-file reads and crash-safe writes, shared by every layer that touches files. Each caller
// throws its own error type (ConfigError, CorpusError, ...) with a message that names the file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace crammer {

// Reads all of `path` into `out`; false with `error` set ("cannot open (No such file or
// directory)", "is a directory, not a file", ...) when it cannot.
bool try_read_file(const std::string& path, std::string& out, std::string& error);

// Reads all of `path`; throws E("<what> <path>: <error of try_read_file><hint>").
template <class E>
std::string read_file(const std::string& path, const std::string& what,
                      const std::string& hint = "") {
  std::string out, error;
  if (!try_read_file(path, out, error))
    throw E(what + " " + path + ": " + error + hint);
  return out;
}

// fsyncs a file or a directory; false with `error` set when it cannot.
bool fsync_path(const std::string& path, bool directory, std::string& error);

// fsyncs the directory holding `path`, so a rename or a new file in it survives a crash. Best
// effort: some file systems refuse directory fsync.
void fsync_parent_dir(const std::string& path);

// Writes a file so that a crash leaves either the old or the new one: `produce` writes the
// content through the sink into a temporary file beside `path`, then fsync, rename, fsync of the
// directory. False with `error` set when the file system fails; an exception from `produce`
// propagates. Either way the temporary file is removed.
using ByteSink = std::function<void(const void* data, size_t n)>;
bool write_file_atomic(const std::string& path, const std::function<void(const ByteSink&)>& produce,
                       std::string& error);

// The same, throwing E(error) on failure.
template <class E>
void write_file_atomic(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  std::string error;
  if (!write_file_atomic(path, produce, error)) throw E(error);
}

template <class E>
void write_file_atomic(const std::string& path, const std::string& data) {
  write_file_atomic<E>(path, [&](const ByteSink& sink) { sink(data.data(), data.size()); });
}

}  // namespace crammer
