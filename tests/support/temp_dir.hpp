// The one temp-directory helper of the C++ tests: a fresh, empty directory per test, unique per
// process and test name (ctest runs tests in parallel processes), removed when it goes out of
// scope unless CRAMMER_KEEP_TEST_DIRS is set (to look at what a failing test left).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace crammer::test {

class TempDir {
 public:
  // TAG goes into the name beside the running test's name: /tmp/crammer-<tag>-<test>-XXXXXX.
  explicit TempDir(const std::string& tag = "test") {
    std::string stem = tag;
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
      stem += std::string("-") + info->name();  // "Name/0" for parameterised tests
    for (char& c : stem)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
    std::string tmpl = (std::filesystem::temp_directory_path() / ("crammer-" + stem + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << ") failed";
      tmpl = std::filesystem::temp_directory_path().string();
      owned_ = false;
    }
    root_ = tmpl;
    path = tmpl;
  }
  ~TempDir() {
    if (owned_ && std::getenv("CRAMMER_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  // ROOT/NAME as a string (not created).
  std::string file(const std::string& name) const { return (root_ / name).string(); }
  // ROOT/NAME, created (with parents) as an empty directory.
  std::filesystem::path dir(const std::string& name) const {
    std::filesystem::path d = root_ / name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }

  std::string path;  // ROOT as a string

 private:
  std::filesystem::path root_;
  bool owned_ = true;
};

}  // namespace crammer::test
