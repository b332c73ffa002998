// StoreError messages name the file and say what is wrong: missing, not HDF5, not a crammer
// results file, a foreign journal; a file that crashes HDF5 is exit 2 with the same.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "crammer/store/export.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/store/status.hpp"
#include "crammer/store/results_writer.hpp"
#include "crammer/util/sanitizer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const StoreError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no StoreError";
  return "";
}

TEST(Errors, MissingFileNamesThePath) {
  test::TempDir dir;
  const std::string path = dir.file("nope.h5");
  std::string msg = error_of([&] { ResultsReader r(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  std::ostringstream out;
  msg = error_of([&] { write_csv(path, out); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  msg = error_of([&] { status_summary(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(Errors, CorruptFileNamesThePathAndCarriesHdf5Stack) {
  test::TempDir dir;
  const std::string path = dir.file("junk.h5");
  std::ofstream(path) << "this is not an HDF5 file\n";
  std::string msg = error_of([&] { ResultsReader r(path); });
  EXPECT_NE(msg.find("cannot open results file " + path), std::string::npos) << msg;
  EXPECT_NE(msg.find("HDF5 error stack"), std::string::npos) << msg;
  EXPECT_NE(msg.find("H5Fopen"), std::string::npos) << msg;  // HDF5's own frames
}

TEST(Errors, ForeignHdf5FileIsNotAResultsFile) {
  test::TempDir dir;
  const std::string path = dir.file("other.h5");
  test::run_python("import sys, h5py\nh5py.File(sys.argv[1], \"w\").create_dataset(\"x\", data=[1])",
                   path);
  std::string msg = error_of([&] { ResultsReader r(path); });
  EXPECT_NE(msg.find(path + " is an HDF5 file but not a crammer results file"), std::string::npos)
      << msg;
}

TEST(Errors, Hdf5FailureCarriesFileLineOperationAndObject) {
  test::TempDir dir;
  const std::string path = dir.file("old.h5");
  // A results-like file without the /models table: the reader fails inside HDF5.
  test::run_python(
      "import sys, h5py\nf = h5py.File(sys.argv[1], \"w\")\nf.attrs[\"schema_version\"] = 1\n"
      "for a in [\"config_yaml\", \"config_fingerprint\", \"command_line\", \"start_time\", \"hosts\"]:\n"
      "    f.attrs[a] = \"x\"",
      path);
  std::string msg = error_of([&] { ResultsReader r(path); });
  EXPECT_NE(msg.find("schema.cpp:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HDF5 H5Dopen2 failed on " + path + ":/models"), std::string::npos) << msg;
  EXPECT_NE(msg.find("H5Dopen2(): unable to open dataset"), std::string::npos) << msg;
}

TEST(Errors, ForeignJournalIsRefused) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::ofstream(journal_path(path)) << "some other file that happens to have this name\n";
  ResultsWriter w;
  std::string msg = error_of([&] {
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
  });
  EXPECT_NE(msg.find(journal_path(path)), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
}

// A run refused because its output path holds something else (a text file, another program's
// HDF5 file) leaves that file as it was and no journal beside it.
TEST(Errors, RefusedOpenLeavesNoJournal) {
  test::TempDir dir;
  const std::string text = dir.file("notes.txt"), other = dir.file("other.h5");
  std::ofstream(text) << "my notes\n";
  test::run_python("import sys, h5py\nh5py.File(sys.argv[1], \"w\").create_dataset(\"x\", data=[1])", other);
  for (const std::string& path : {text, other}) {
    ResultsWriter w;
    std::string msg = error_of([&] { w.open(path, test::make_run(), test::make_models(), test::make_samples()); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_FALSE(std::ifstream(journal_path(path)).good()) << journal_path(path) << " left behind";
  }
  std::ostringstream kept;
  kept << std::ifstream(text).rdbuf();
  EXPECT_EQ(kept.str(), "my notes\n");
}

// Sets the size of the first object of the file's first global heap collection (where HDF5
// keeps variable-length strings, without a checksum) to 2^40: HDF5 1.10 then reads out of bounds.
void damage_global_heap(const std::string& path) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t gcol = bytes.find("GCOL");
  ASSERT_NE(gcol, std::string::npos) << path << " has no global heap collection";
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&bytes[gcol + 24], &huge, 8);  // "GCOL", version, 3 reserved, u64 size; index, refs, 4 reserved
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(ErrorsDeathTest, DamagedGlobalHeapIsExit2NamingTheFileNotACrash) {
  if (kAddressSanitizer)
    GTEST_SKIP() << "ASan's memcpy interceptor reports HDF5 1.10's overlapping copy out of the damaged heap (an "
                    "HDF5 defect) and aborts before the crash that this test turns into exit 2";
  test::TempDir dir;
  const std::string path = dir.file("heap.h5");
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    w.append({test::make_row(0), test::make_row(1)});
  }
  damage_global_heap(path);
  // The journal holds every row: the way out is to move the file away; a run then rebuilds it.
  EXPECT_EXIT({ ResultsReader r(path); }, testing::ExitedWithCode(2),
              "results file " + path + " is damaged: the HDF5 library crashed reading it. Move it away");
  EXPECT_EXIT(
      {
        ResultsWriter w;
        w.open(path, test::make_run(), test::make_models(), test::make_samples());
      },
      testing::ExitedWithCode(2), "Move it away and run the sweep again");
  ASSERT_EQ(std::rename(path.c_str(), (path + ".moved").c_str()), 0);
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    EXPECT_EQ(w.row_count(), 2u);
  }
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 2u);
  // Without a journal nothing can rebuild it: the advice says so.
  ASSERT_EQ(std::remove(journal_path(path).c_str()), 0);
  damage_global_heap(path);
  EXPECT_EXIT({ status_summary(path); }, testing::ExitedWithCode(2), "There is no journal");
}

}  // namespace
}  // namespace crammer
