// StoreError messages name the file and say what is wrong: missing, not HDF5, not a crammer
// results file, a foreign journal.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "crammer/store/export.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/store/status.hpp"
#include "crammer/store/results_writer.hpp"
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

}  // namespace
}  // namespace crammer
