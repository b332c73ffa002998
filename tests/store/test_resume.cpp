// Resume: stored task keys are skipped and duplicates ignored; a different config fingerprint
// is refused (fresh replaces the file); a lost journal or a damaged HDF5 file is recovered.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

using test::make_row;

std::vector<TaskResult> rows_range(int begin, int end, bool arrays = false) {
  std::vector<TaskResult> v;
  for (int i = begin; i < end; ++i) v.push_back(make_row(i, arrays));
  return v;
}

void open_default(ResultsWriter& w, const std::string& path, OpenMode mode = OpenMode::resume,
                  const std::string& fp = "fp-1") {
  w.open(path, test::make_run(fp), test::make_models(), test::make_samples(), mode);
}

void expect_rows(const std::string& path, int n, bool arrays) {
  ResultsReader r(path, {arrays, arrays});
  ASSERT_EQ(r.rows().size(), static_cast<size_t>(n));
  std::map<std::string, int> seen;
  for (const auto& row : r.rows()) {
    int i = std::stoi(row.task_key.substr(row.task_key.find("-s") + 2));
    test::expect_same(row, make_row(i, arrays), arrays);
    EXPECT_EQ(++seen[row.task_key], 1) << row.task_key;
  }
}

TEST(Resume, SkipsStoredKeysAndIgnoresDuplicates) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_TRUE(w.finished_keys().empty());
    EXPECT_EQ(w.append(rows_range(0, 10)), 10u);
  }
  ResultsWriter w;
  open_default(w, path);
  EXPECT_EQ(w.row_count(), 10u);
  EXPECT_EQ(w.finished_keys().size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(w.finished_keys().count(make_row(i).task_key), 1u);
    EXPECT_TRUE(w.has_row(make_row(i).task_key, make_row(i).length));
  }
  EXPECT_FALSE(w.has_row(make_row(10).task_key, make_row(10).length));
  // 5..14: the first five are stored already; 12 twice in one batch counts once.
  auto batch = rows_range(5, 15);
  batch.push_back(make_row(12));
  EXPECT_EQ(w.append(batch), 5u);
  EXPECT_EQ(w.append(rows_range(0, 15)), 0u);
  w.close();
  expect_rows(path, 15, false);
}

TEST(Resume, CapacitySearchRowsShareAKeyAndDifferInLength) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  open_default(w, path);
  std::vector<TaskResult> probes;
  for (int length : {64, 128, 96}) {
    TaskResult r = make_row(1);
    r.length = length;
    probes.push_back(r);
  }
  EXPECT_EQ(w.append(probes), 3u);
  EXPECT_EQ(w.finished_keys().size(), 1u);
  EXPECT_EQ(w.append({probes[1]}), 0u);
  w.close();
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 3u);
  EXPECT_EQ(r.rows()[2].length, 96);
}

TEST(Resume, DifferentFingerprintIsRefusedAndFreshReplaces) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    ResultsWriter w;
    open_default(w, path);
    w.append(rows_range(0, 4));
  }
  ResultsWriter w;
  try {
    open_default(w, path, OpenMode::resume, "fp-2");
    FAIL() << "a file written under another config was resumed";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("different config"), std::string::npos) << msg;
    EXPECT_NE(msg.find("output.path"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--fresh"), std::string::npos) << msg;
  }
  EXPECT_FALSE(w.is_open());
  expect_rows(path, 4, false);  // refused means untouched

  open_default(w, path, OpenMode::fresh, "fp-2");
  EXPECT_EQ(w.row_count(), 0u);
  EXPECT_TRUE(w.finished_keys().empty());
  w.append(rows_range(7, 9));
  w.close();
  ResultsReader r(path);
  EXPECT_EQ(r.run().config_fingerprint, "fp-2");
  ASSERT_EQ(r.rows().size(), 2u);
  EXPECT_EQ(r.rows()[0].task_key, make_row(7).task_key);
}

TEST(Resume, LostJournalIsRewrittenFromTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    ResultsWriter w;
    open_default(w, path);
    w.append(rows_range(0, 6, true));
  }
  ASSERT_EQ(std::remove(journal_path(path).c_str()), 0);
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.row_count(), 6u);
    w.append(rows_range(6, 8, true));
  }
  // The rewritten journal is complete: it alone rebuilds all rows, arrays included.
  ASSERT_EQ(std::remove(path.c_str()), 0);
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.row_count(), 8u);
  }
  expect_rows(path, 8, true);
}

TEST(Resume, DamagedFileIsRebuiltFromTheJournal) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    ResultsWriter w;
    open_default(w, path);
    w.append(rows_range(0, 5, true));
    w.append(rows_range(5, 9, true));
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f << std::string(4096, 'Z');  // superblock and more: HDF5 cannot open it
  }
  EXPECT_THROW(ResultsReader{path}, StoreError);
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.row_count(), 9u);
  }
  expect_rows(path, 9, true);
}

TEST(Resume, SecondWriterOfTheSameFileIsRefused) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter a;
  open_default(a, path);
  ResultsWriter b;
  try {
    open_default(b, path);
    FAIL() << "two writers opened one file";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("another crammer run"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(writer_active(path));
  a.close();
  EXPECT_FALSE(writer_active(path));
}

TEST(Resume, BadRowsAreRefusedBeforeAnythingIsStored) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  open_default(w, path);
  TaskResult bad_model = make_row(1);
  bad_model.model_index = 7;
  EXPECT_THROW(w.append({make_row(0), bad_model}), StoreError);
  TaskResult bad_memory = make_row(2, true);
  bad_memory.memory.pop_back();
  EXPECT_THROW(w.append({bad_memory}), StoreError);
  EXPECT_EQ(w.row_count(), 0u);
  EXPECT_EQ(w.append({make_row(0)}), 1u);
  w.close();
  expect_rows(path, 1, false);
}

}  // namespace
}  // namespace crammer
