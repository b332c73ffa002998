// resume_outlook: what `crammer plan` says `crammer run` will do with the results file — counts
// from a file written by the real writer, checked against make_row's known statuses.
#include <gtest/gtest.h>

#include <fstream>

#include "crammer/store/outlook.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

using test::make_row;

TEST(Outlook, SaysWhatRunWillDo) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::vector<std::string> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(make_row(i).task_key);
  EXPECT_EQ(resume_outlook(path, "fp-1", keys),
            "results file " + path + " does not exist yet: crammer run creates it and runs all 8 tasks\n");
  {
    ResultsWriter w;
    w.open(path, test::make_run("fp-1"), test::make_models(), test::make_samples());
    std::vector<TaskResult> rows;
    for (int i = 0; i < 6; ++i) rows.push_back(make_row(i));  // done, failed, skipped, done, failed, skipped
    w.append(rows);
  }
  EXPECT_EQ(resume_outlook(path, "fp-1", keys),
            "results file " + path + " holds 6 rows (2 done, 2 failed, 2 skipped, 0 superseded): crammer run resumes "
            "it, 4 of 8 tasks left to run (2 stored as failed run again unless --keep-failed)\n");
  const std::string other = resume_outlook(path, "fp-2", keys);
  EXPECT_NE(other.find("holds 6 rows written under another config (fingerprint fp-1, this one fp-2): crammer run "
                       "refuses it"), std::string::npos) << other;
  std::ofstream(dir.file("junk.h5")) << "not HDF5";
  const std::string junk = resume_outlook(dir.file("junk.h5"), "fp-1", keys);
  EXPECT_NE(junk.find("cannot be resumed as it is: cannot open results file"), std::string::npos) << junk;
}

}  // namespace
}  // namespace crammer
