// Append throughput: 100k rows in batches of 100 (each batch fdatasync'ed to the journal), a
// flush every 10 batches, then a resume scan of the keys. Prints the figures; fails only when
// far too slow (minutes instead of seconds).
#include <gtest/gtest.h>

#include <chrono>

#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Bench, Append100kRowsInBatchesOf100) {
  test::TempDir dir;
  const std::string path = dir.file("bench.h5");
  const int n = 100000;
  const int batch = 100;
  auto t0 = std::chrono::steady_clock::now();
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    for (int b = 0; b < n / batch; ++b) {
      std::vector<TaskResult> rows;
      for (int i = b * batch; i < (b + 1) * batch; ++i) rows.push_back(test::make_row(i));
      ASSERT_EQ(w.append(rows), static_cast<size_t>(batch));
      if (b % 10 == 9) w.flush();
    }
  }
  double append_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  size_t keys = 0;
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    keys = w.finished_keys(/*keep_failed=*/true).size();
  }
  double resume_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  size_t rows = ResultsReader(path).rows().size();
  double read_s = seconds_since(t0);
  std::printf("append %d rows in batches of %d: %.2f s (%.0f rows/s); resume scan: %.2f s; "
              "read: %.2f s; file %.1f MB, journal %.1f MB\n",
              n, batch, append_s, n / append_s, resume_s, read_s,
              std::filesystem::file_size(path) / 1e6,
              std::filesystem::file_size(journal_path(path)) / 1e6);
  EXPECT_EQ(keys, static_cast<size_t>(n));
  EXPECT_EQ(rows, static_cast<size_t>(n));
  EXPECT_LT(append_s, 120.0);
}

}  // namespace
}  // namespace crammer
