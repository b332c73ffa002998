// Shared by the libFuzzer targets: a scratch directory for parsers that read files, and the rule
// every target follows: crammer's own errors (crammer::Error) are the expected answer to bad
// input; any other exception escaping a parser is a finding, so it aborts for libFuzzer to see.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "crammer/util/error.hpp"

namespace crammer::fuzz {

// One directory per process, on tmpfs where there is one (a file write per execution).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string d = std::string(base) + "/crammer-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string write_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

// Runs `body`; a crammer::Error is fine, anything else aborts with its text.
template <class F>
void expect_only_crammer_errors(const char* target, F&& body) {
  try {
    body();
  } catch (const crammer::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: a parser let a non-crammer exception escape: %s\n", target, e.what());
    std::abort();
  }
}

}  // namespace crammer::fuzz
