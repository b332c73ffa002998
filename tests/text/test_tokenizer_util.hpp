// Small helpers shared by the text tests: scratch directories, file I/O, a fixture that writes
// small files, and a tokenizer.json writer. Test-only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace crammer::test {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A fresh, empty directory under the build tree, unique per test and process.
inline fs::path scratch_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(CRAMMER_BINARY_DIR) / "test_tmp" /
                 ("tokenizer_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                  name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline fs::path source_path(const std::string& rel) { return fs::path(CRAMMER_SOURCE_DIR) / rel; }

// A test fixture with a fresh scratch directory and write(name, content) -> path.
class ScratchFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = scratch_dir("files"); }
  std::string write(const std::string& name, const std::string& content) {
    auto p = dir_ / name;
    write_text(p, content);
    return p.string();
  }
  fs::path dir_;
};

}  // namespace crammer::test
