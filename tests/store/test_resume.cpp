// Resume: stored task keys are skipped and duplicates ignored; a different config fingerprint
// is refused (fresh replaces the file); a lost journal or a damaged HDF5 file is recovered.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "crammer/store/results_reader.hpp"
#include "journal.hpp"
#include "crammer/store/results_writer.hpp"
#include "crammer/store/status.hpp"
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

// The file's live rows (superseded ones left out) are exactly make_row(i) for n distinct i.
void expect_rows(const std::string& path, int n, bool arrays) {
  ResultsReader r(path, {arrays, arrays, arrays});
  std::vector<TaskResult> live;
  for (const auto& row : r.rows())
    if (row.status != TaskStatus::superseded) live.push_back(row);
  ASSERT_EQ(live.size(), static_cast<size_t>(n));
  std::map<std::string, int> seen;
  for (const auto& row : live) {
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
  EXPECT_EQ(w.finished_keys(/*keep_failed=*/true).size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(w.finished_keys(true).count(make_row(i).task_key), 1u);
    EXPECT_TRUE(w.has_row(make_row(i).task_key, make_row(i).length));
  }
  // make_row(1), (4), (7) are failed: their tasks run again unless kept.
  EXPECT_EQ(w.finished_keys().size(), 7u);
  EXPECT_EQ(w.failed_tasks(), 3u);
  EXPECT_FALSE(w.has_row(make_row(10).task_key, make_row(10).length));
  // 5..14: 10..14 are new and 7 replaces its failed row; 12 twice in one batch counts once.
  auto batch = rows_range(5, 15);
  batch.push_back(make_row(12));
  EXPECT_EQ(w.append(batch), 6u);
  EXPECT_EQ(w.append(rows_range(0, 15)), 2u);  // 1 and 4 replaced too
  EXPECT_EQ(w.append(rows_range(0, 15)), 0u);  // a retried task's second result is a duplicate
  w.close();
  expect_rows(path, 15, false);
}

// A rerun runs again the tasks stored as failed; their new rows replace the old ones, which stay
// in the file marked superseded. The journal replays the same, and so does an adopted file.
TEST(Resume, FailedTasksRunAgainAndTheirOldRowsAreSuperseded) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  auto row = [](const std::string& key, int32_t length, TaskStatus s) {
    TaskResult r = make_row(0);
    r.task_key = key;
    r.length = length;
    r.status = s;
    r.error = s == TaskStatus::done ? "" : "boom";
    return r;
  };
  using S = TaskStatus;
  using Keys = std::set<std::string>;
  {
    ResultsWriter w;
    open_default(w, path, OpenMode::fresh);
    // c: a capacity search whose last probe failed.
    EXPECT_EQ(w.append({row("a", 16, S::done), row("b", 16, S::failed), row("c", 16, S::done), row("c", 32, S::failed)}),
              4u);
    EXPECT_EQ(w.append({row("b", 16, S::done)}), 0u);  // within the run that stored them, failures are final
    EXPECT_EQ(w.failed_tasks(), 2u);
  }
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.finished_keys(), (Keys{"a"}));
    EXPECT_EQ(w.finished_keys(true), (Keys{"a", "b", "c"}));
    EXPECT_EQ(w.failed_tasks(), 2u);
    EXPECT_EQ(w.append({row("b", 16, S::done)}), 1u);
    EXPECT_EQ(w.append({row("b", 16, S::failed)}), 0u);  // a second copy of the retry
    EXPECT_EQ(w.append({row("c", 16, S::done), row("c", 64, S::failed)}), 2u);  // fails again, at 64
    EXPECT_TRUE(w.has_row("c", 64));
    EXPECT_FALSE(w.has_row("c", 32));
    EXPECT_EQ(w.failed_tasks(), 1u);
  }
  using Row = std::tuple<std::string, int32_t, S>;
  const std::vector<Row> want = {{"a", 16, S::done},       {"b", 16, S::superseded}, {"c", 16, S::superseded},
                                 {"c", 32, S::superseded}, {"b", 16, S::done},       {"c", 16, S::done},
                                 {"c", 64, S::failed}};
  auto stored = [&] {
    std::vector<Row> out;
    const ResultsReader reader(path);
    for (const auto& r : reader.rows()) out.emplace_back(r.task_key, r.length, r.status);
    return out;
  };
  EXPECT_EQ(stored(), want);
  // `crammer status` counts live rows; superseded ones apart.
  const StatusSummary st = status_summary(path);
  EXPECT_EQ(st.all.done, 3);
  EXPECT_EQ(st.all.failed, 1);
  EXPECT_EQ(st.superseded, 3);
  EXPECT_NE(st.text().find("1 failed row(s): `crammer run` on the same config runs their tasks again"),
            std::string::npos) << st.text();
  EXPECT_NE(st.text().find("3 superseded row(s)"), std::string::npos) << st.text();
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.finished_keys(), (Keys{"a", "b"}));  // c runs again next time
  }
  ASSERT_EQ(std::remove(path.c_str()), 0);  // the journal alone rebuilds the same rows
  { ResultsWriter w; open_default(w, path); }
  EXPECT_EQ(stored(), want);
  ASSERT_EQ(std::remove(journal_path(path).c_str()), 0);  // adopted without a journal: same history
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.failed_tasks(), 1u);
    EXPECT_EQ(w.finished_keys(), (Keys{"a", "b"}));
  }
  EXPECT_EQ(stored(), want);
}

// make_row(i) run again and done this time.
TaskResult done_retry_of(int i) {
  TaskResult r = make_row(i);
  r.status = TaskStatus::done;
  r.error.clear();
  return r;
}

// A crash while a retry is being stored (the last journal record torn) leaves the task as it was:
// its failed row live, so the next run retries it again. Never superseded without its new row.
TEST(Resume, RetryTornByACrashKeepsTheFailedRowLive) {
  test::TempDir dir;
  const std::string path = dir.file("torn.h5");
  {
    ResultsWriter w;
    open_default(w, path, OpenMode::fresh);
    w.append(rows_range(0, 3));  // make_row(1) is failed
  }
  const auto journal_size = [&] { return std::filesystem::file_size(journal_path(path)); };
  const auto before = journal_size();
  {
    ResultsWriter w;
    open_default(w, path);
    ASSERT_EQ(w.failed_tasks(), 1u);
    const TaskResult retry = done_retry_of(1);
    ASSERT_EQ(w.append({retry, make_row(3)}), 2u);
  }
  // Cut the retry's record short (and the clean mark after it), and lose the HDF5 file.
  const auto retry_end = journal_size();
  std::filesystem::resize_file(journal_path(path), before + (retry_end - before) / 2);
  ASSERT_EQ(std::remove(path.c_str()), 0);
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.failed_tasks(), 1u);
    EXPECT_TRUE(w.has_row(make_row(1).task_key, make_row(1).length));
    EXPECT_FALSE(w.has_row(make_row(3).task_key, make_row(3).length));
  }
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 3u);
  for (int i = 0; i < 3; ++i) test::expect_same(r.rows()[i], make_row(i), false);
}

// A file written before rows could be superseded has a three-name status type; resuming it with
// a failed task rewrites it once from the journal, then the retry supersedes as usual.
TEST(Resume, FileFromBeforeSupersededIsRewrittenOnce) {
  test::TempDir dir;
  const std::string path = dir.file("old.h5");
  {
    ResultsWriter w;
    open_default(w, path, OpenMode::fresh);
    w.append(rows_range(0, 3));  // make_row(1) is failed
  }
  // Give /results the status type of those files (h5py, plain read-write, the journal kept).
  const char* downgrade =
      "import sys, h5py, numpy as np\n"
      "f = h5py.File(sys.argv[1], \"r+\", libver=\"latest\")\n"
      "old = f[\"results\"]; data = old[()]; attrs = dict(old.attrs); chunks = old.chunks\n"
      "three = h5py.enum_dtype({\"done\": 0, \"failed\": 1, \"skipped\": 2}, basetype=\"i1\")\n"
      "dt = [(n, three if n == \"status\" else data.dtype[n]) for n in data.dtype.names]\n"
      "new = np.empty(len(data), dtype=dt)\n"
      "for n in data.dtype.names: new[n] = data[n]\n"
      "del f[\"results\"]\n"
      "d = f.create_dataset(\"results\", data=new, maxshape=(None,), chunks=chunks)\n"
      "for k, v in attrs.items(): d.attrs[k] = v\n"
      "print(sorted(h5py.check_enum_dtype(f[\"results\"].dtype[\"status\"]).keys()))\n";
  EXPECT_EQ(test::run_python(downgrade, path), "[\'done\', \'failed\', \'skipped\']\n");
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.failed_tasks(), 1u);
    const TaskResult retry = done_retry_of(1);
    EXPECT_EQ(w.append({retry}), 1u);
  }
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 4u);
  EXPECT_EQ(r.rows()[1].status, TaskStatus::superseded);
  EXPECT_EQ(r.rows()[3].status, TaskStatus::done);
  EXPECT_EQ(test::run_python("import sys, h5py\nf = h5py.File(sys.argv[1], \"r\")\n"
                             "print(h5py.check_enum_dtype(f[\"results\"].dtype[\"status\"])[\"superseded\"])",
                             path),
            "3\n");
}

// A file written before /series existed cannot take a row's series in place (a SWMR writer
// creates no datasets): resuming it rewrites it once from the journal, every series included.
TEST(Resume, FileFromBeforeSeriesIsRewrittenWithThem) {
  test::TempDir dir;
  const std::string path = dir.file("old.h5");
  {
    ResultsWriter w;
    open_default(w, path, OpenMode::fresh);
    w.append(rows_range(0, 3, true));
  }
  EXPECT_EQ(test::run_python("import sys, h5py\nf = h5py.File(sys.argv[1], \"r+\", libver=\"latest\")\n"
                             "del f[\"series\"]\nprint(\"series\" in f)", path),
            "False\n");
  {
    ResultsReader old(path, {true, true, true});  // readers give such a file's rows no series
    ASSERT_EQ(old.rows().size(), 3u);
    EXPECT_TRUE(old.rows()[0].mem_attention.empty());
  }
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.append(rows_range(3, 5, true)), 2u);
  }
  ResultsReader r(path, {true, true, true});
  ASSERT_EQ(r.rows().size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.rows()[i].mem_attention, make_row(i, true).mem_attention) << i;
}

TEST(Resume, CapacitySearchRowsShareAKeyAndDifferInLength) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  open_default(w, path);
  std::vector<TaskResult> probes;
  for (int length : {64, 128, 96}) {
    TaskResult r = make_row(3);  // done
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

// The journal as a build of journal version 4 wrote it (rows without the format-5 fields).
void write_version4_journal(const std::string& path, const std::vector<std::pair<JournalType, std::string>>& records) {
  std::string bytes = "CRMJRNL\n";
  const uint32_t version = 4, zero = 0;
  bytes.append(reinterpret_cast<const char*>(&version), 4).append(reinterpret_cast<const char*>(&zero), 4);
  for (const auto& [type, payload] : records) {
    char head[16] = {};
    const auto t = static_cast<uint32_t>(type);
    const uint64_t length = payload.size();
    std::memcpy(head, &t, 4);
    std::memcpy(head + 8, &length, 8);
    uint32_t c = crc32(head, 4);
    c = crc32(head + 8, 8, c);
    c = crc32(payload.data(), payload.size(), c);
    std::memcpy(head + 4, &c, 4);
    bytes.append(head, 16).append(payload);
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(Resume, JournalOfAnOlderVersionIsReadThenRewrittenInThisOne) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  RunHeader header{test::make_run("fp-1"), test::make_models(), test::make_samples()};
  // An older build's journal of a run that crashed: no HDF5 file, no clean record.
  auto old_rows = rows_range(0, 5, true);
  write_version4_journal(journal_path(path), {{JournalType::header, encode_header(header)},
                                              {JournalType::rows, encode_rows(old_rows, 4)}});
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.row_count(), 5u);
    w.append(rows_range(5, 7, true));
  }
  // The old rows kept every field they had; the fields they lacked read as defaults.
  {
    ResultsReader r(path, {true, true, true});
    ASSERT_EQ(r.rows().size(), 7u);
    for (const auto& row : r.rows()) {
      const int i = std::stoi(row.task_key.substr(row.task_key.find("-s") + 2));
      TaskResult want = make_row(i, true);
      if (i < 5) {
        const TaskResult blank;
        want.restart = blank.restart;
        want.n_bytes = blank.n_bytes;
        want.steps_to_acc95 = blank.steps_to_acc95;
        want.steps_to_acc99 = blank.steps_to_acc99;
        want.steps_to_acc100 = blank.steps_to_acc100;
        want.decode_acc = blank.decode_acc;
        want.copy_loss = blank.copy_loss;
        want.copy_acc = blank.copy_acc;
        want.grown_from = blank.grown_from;
        want.mem_attention = blank.mem_attention;
        EXPECT_TRUE(std::isnan(row.gain_bound_nats)) << row.task_key;
        want.gain_bound_nats = row.gain_bound_nats;
      }
      test::expect_same(row, want, true);
      if (::testing::Test::HasFailure()) FAIL() << "row " << row.task_key;
    }
  }
  // The journal is now of this build's version and alone rebuilds all seven rows.
  {
    Journal j = Journal::open_locked(journal_path(path));
    EXPECT_TRUE(j.is_current());
  }
  ASSERT_EQ(std::remove(path.c_str()), 0);
  {
    ResultsWriter w;
    open_default(w, path);
    EXPECT_EQ(w.row_count(), 7u);
  }
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
  } catch (const ResultsLockedError& e) {
    EXPECT_NE(std::string(e.what()).find("another crammer run"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), 73);  // its own code: not bad input (2), not a stopped run (75)
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
