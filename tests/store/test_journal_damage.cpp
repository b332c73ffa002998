// A damaged journal beside a results file: one flipped byte in any record, or a truncation at
// any point, loses no row that the cleanly closed file holds; with the file lost as well, only
// the damaged record's rows are gone (the scan resumes at the next intact record).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;
using test::make_row;

constexpr int kRows = 16;
constexpr size_t kFileHeader = 16, kRecordHeader = 16;  // docs/results-file.md, "Journal"

struct Record {
  size_t begin = 0, end = 0;
  uint32_t type = 0;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The journal's records, parsed here from the documented layout (not by the code under test).
std::vector<Record> records_of(const std::string& bytes) {
  std::vector<Record> out;
  for (size_t pos = kFileHeader; pos + kRecordHeader <= bytes.size();) {
    Record r;
    uint64_t length = 0;
    std::memcpy(&r.type, bytes.data() + pos, 4);
    std::memcpy(&length, bytes.data() + pos + 8, 8);
    r.begin = pos;
    r.end = pos + kRecordHeader + length;
    out.push_back(r);
    pos = r.end;
  }
  return out;
}

void open_resume(ResultsWriter& w, const std::string& path) {
  w.open(path, test::make_run(), test::make_models(), test::make_samples(), OpenMode::resume);
}

// Rows 0..15 in four batches, closed cleanly: the journal holds header, 4 row records, clean.
struct Pristine {
  test::TempDir dir;
  std::string h5, journal;
  std::vector<Record> records;
  Pristine() {
    const std::string path = dir.file("r.h5");
    {
      ResultsWriter w;
      open_resume(w, path);
      for (int b = 0; b < kRows; b += 4) {
        std::vector<TaskResult> rows;
        for (int i = b; i < b + 4; ++i) rows.push_back(make_row(i, true));
        w.append(rows);
      }
    }
    h5 = read_bytes(path);
    journal = read_bytes(journal_path(path));
    records = records_of(journal);
  }
};

// The rows the file holds: exactly make_row(i) for each i in `want`, each once.
void expect_file_rows(const std::string& path, const std::vector<int>& want) {
  ResultsReader r(path, {true, true, true});
  ASSERT_EQ(r.rows().size(), want.size()) << path;
  for (size_t j = 0; j < want.size(); ++j) test::expect_same(r.rows()[j], make_row(want[j], true), true);
}

std::vector<int> all_rows() {
  std::vector<int> v;
  for (int i = 0; i < kRows; ++i) v.push_back(i);
  return v;
}

// Resumes `path` with the journal replaced by `journal`: every row is kept and stored once, no
// task runs again, and the rewritten journal alone rebuilds the same file.
void expect_nothing_lost(const std::string& path, const std::string& journal, const std::string& what) {
  SCOPED_TRACE(what);
  write_bytes(journal_path(path), journal);
  {
    ResultsWriter w;
    open_resume(w, path);
    EXPECT_EQ(w.row_count(), static_cast<size_t>(kRows));
    for (int i = 0; i < kRows; ++i)
      EXPECT_TRUE(w.has_row(make_row(i).task_key, make_row(i).length)) << "row " << i << " would run again";
  }
  expect_file_rows(path, all_rows());
  ASSERT_EQ(std::remove(path.c_str()), 0);
  {
    ResultsWriter w;
    open_resume(w, path);
    EXPECT_EQ(w.row_count(), static_cast<size_t>(kRows));
  }
  expect_file_rows(path, all_rows());
}

TEST(JournalDamage, AFlippedByteInAnyRecordLosesNoRowOfTheClosedFile) {
  Pristine p;
  ASSERT_EQ(p.records.size(), 6u);  // header, 4 x rows, clean
  ASSERT_EQ(p.records.back().end, p.journal.size());
  for (size_t r = 0; r < p.records.size(); ++r) {
    const Record& rec = p.records[r];
    for (size_t at : {rec.begin, rec.begin + 5, rec.begin + 9, (rec.begin + rec.end) / 2, rec.end - 1}) {
      test::TempDir dir;
      const std::string path = dir.file("r.h5");
      write_bytes(path, p.h5);
      std::string journal = p.journal;
      journal[at] = static_cast<char>(journal[at] ^ 0x5A);
      expect_nothing_lost(path, journal, "record " + std::to_string(r) + ", byte " + std::to_string(at));
    }
  }
}

TEST(JournalDamage, ATruncationAnywhereLosesNoRowOfTheClosedFile) {
  Pristine p;
  std::vector<size_t> cuts = {kFileHeader, kFileHeader + 3};
  for (const Record& rec : p.records) {
    cuts.push_back(rec.begin + kRecordHeader / 2);
    cuts.push_back((rec.begin + rec.end) / 2);
    cuts.push_back(rec.end - 1);
  }
  for (size_t cut : cuts) {
    test::TempDir dir;
    const std::string path = dir.file("r.h5");
    write_bytes(path, p.h5);
    expect_nothing_lost(path, p.journal.substr(0, cut), "cut at " + std::to_string(cut));
  }
}

// Without the HDF5 file only the journal holds rows: a damaged record loses its batch alone,
// not the batches after it.
TEST(JournalDamage, WithTheFileLostOnlyTheDamagedRecordsRowsAreLost) {
  Pristine p;
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::string journal = p.journal;
  const Record& second_batch = p.records[2];
  journal[(second_batch.begin + second_batch.end) / 2] ^= 0x01;
  write_bytes(journal_path(path), journal);
  {
    ResultsWriter w;
    open_resume(w, path);
    EXPECT_EQ(w.row_count(), 12u);
    EXPECT_FALSE(w.has_row(make_row(4).task_key, make_row(4).length));
    EXPECT_TRUE(w.has_row(make_row(8).task_key, make_row(8).length));
  }
  expect_file_rows(path, {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15});
}

// Neither the journal's header nor the file: nothing says what the run was. A clear error names
// both, and the journal is left as it was.
TEST(JournalDamage, LostHeaderAndNoFileIsAClearError) {
  Pristine p;
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::string journal = p.journal;
  journal[p.records[0].begin + 20] ^= 0x01;
  write_bytes(journal_path(path), journal);
  ResultsWriter w;
  try {
    open_resume(w, path);
    FAIL() << "a journal without its header and no file were resumed";
  } catch (const StoreError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("lost its header record"), std::string::npos) << msg;
    EXPECT_NE(msg.find(journal_path(path)), std::string::npos) << msg;
    EXPECT_NE(msg.find("it is missing"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(read_bytes(journal_path(path)), journal) << "the journal was changed";
}

}  // namespace
}  // namespace crammer
