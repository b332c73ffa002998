// Crash safety and concurrent reading, with real processes: a child appends in a loop and is
// SIGKILLed at random moments; every row it reported as stored must be in the file exactly once.
// A reader in the parent (ours and h5py) opens the file while a child writes it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

TaskResult kill_row(int i) {
  TaskResult r = test::make_row(i, i % 3 == 0);
  r.task_key = "kill-" + std::to_string(i);
  return r;
}

// Collects the whole lines read from `fd`; keeps a partial tail.
struct LineReader {
  explicit LineReader(int f) : fd(f) {}
  int fd;
  std::string buf;
  std::vector<std::string> lines;
  bool read_once() {
    char tmp[4096];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    size_t p;
    while ((p = buf.find('\n')) != std::string::npos) {
      lines.push_back(buf.substr(0, p));
      buf.erase(0, p + 1);
    }
    return true;
  }
};

// Child: resume the file, append batches forever, report each stored row id on `out`.
[[noreturn]] void append_forever(const std::string& path, int first, int out) {
  try {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    for (int i = first, batch = 0;; ++batch) {
      std::vector<TaskResult> rows;
      int n = 1 + batch % 7;
      for (int j = 0; j < n; ++j) rows.push_back(kill_row(i + j));
      if (i > 0) rows.push_back(kill_row(i - 1));  // a duplicate: must be ignored
      w.append(rows);
      std::string msg;
      for (int j = 0; j < n; ++j) msg += std::to_string(i + j) + "\n";
      if (::write(out, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) _exit(3);
      i += n;
      if (batch % 5 == 4) w.flush();
    }
  } catch (const std::exception& e) {
    std::string msg = std::string("ERROR ") + e.what() + "\n";
    (void)!::write(out, msg.data(), msg.size());
    _exit(2);
  }
}

TEST(Crash, KillNineLosesNothingReportedAndFileStaysReadable) {
  test::TempDir dir;
  const std::string path = dir.file("crash.h5");
  std::mt19937 rng(12345);
  std::set<int> reported;
  int next = 0;
  const int iterations = 8;
  for (int it = 0; it < iterations; ++it) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(stdout);  // or the child inherits and repeats buffered output
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      append_forever(path, next, fds[1]);
    }
    ::close(fds[1]);
    // Kill at a random moment: sometimes during open/rebuild, mostly while appending.
    int delay_ms = std::uniform_int_distribution<int>(it % 3 == 0 ? 1 : 30, 400)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status)) << "child exited by itself, status " << status;
    LineReader lr(fds[0]);
    while (lr.read_once()) {
    }
    ::close(fds[0]);
    for (const auto& line : lr.lines) {
      ASSERT_EQ(line.rfind("ERROR", 0), std::string::npos) << line;
      int i = std::stoi(line);
      reported.insert(i);
      next = std::max(next, i + 1);
    }
    std::printf("iteration %d: killed after %d ms, %zu rows reported so far\n", it, delay_ms,
                reported.size());
    // The file a crash left behind is SWMR-consistent: our reader opens it (rows up to the
    // last flush) before any resume repairs it.
    if (std::filesystem::exists(path)) {
      try {
        ResultsReader crashed(path);
        std::printf("  the crashed file reads: %zu rows\n", crashed.rows().size());
      } catch (const StoreError& e) {
        ADD_FAILURE() << "iteration " << it << ": the crashed file is unreadable: " << e.what();
      }
    }
  }
  ASSERT_GT(reported.size(), 50u) << "the child stored too few rows to test anything";

  // Reopen (this rebuilds the HDF5 file from the journal), then close cleanly.
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    for (int i : reported) EXPECT_TRUE(w.has_row("kill-" + std::to_string(i), kill_row(i).length));
  }
  ResultsReader r(path, {true, true, true});
  // A row stored but not yet reported when the child died is appended again by the next child:
  // a duplicate when done, a retry of a failed task (the old row superseded) otherwise.
  std::vector<TaskResult> live;
  for (const auto& row : r.rows())
    if (row.status != TaskStatus::superseded) live.push_back(row);
  std::map<std::string, int> count;
  for (const auto& row : live) ++count[row.task_key + "/" + std::to_string(row.length)];
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << id << " stored " << n << " times";
  for (int i : reported) {
    TaskResult want = kill_row(i);
    EXPECT_EQ(count[want.task_key + "/" + std::to_string(want.length)], 1) << want.task_key;
  }
  for (const auto& row : live) {
    int i = std::stoi(row.task_key.substr(5));
    test::expect_same(row, kill_row(i), true);
  }
  // h5py opens it too (plain read mode, no SWMR): the file is clean after the reopen.
  std::string out = test::run_python(
      "import sys, h5py\nf = h5py.File(sys.argv[1], \"r\")\nprint(len(f[\"results\"]))", path);
  EXPECT_EQ(std::stoul(out), r.rows().size());
}

TEST(Crash, HalfWrittenJournalTailIsIgnored) {
  test::TempDir dir;
  const std::string path = dir.file("tail.h5");
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    w.append({kill_row(0), kill_row(1)});
    w.append({kill_row(2)});
  }
  // Append garbage that looks like the start of a record, as a crash mid-write leaves it.
  FILE* f = std::fopen(journal_path(path).c_str(), "ab");
  ASSERT_NE(f, nullptr);
  const unsigned char torn[] = {2, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0xff, 0x10, 0, 0};
  std::fwrite(torn, 1, sizeof torn, f);
  std::fclose(f);
  std::remove(path.c_str());  // and lose the HDF5 file: the journal alone rebuilds it
  ResultsWriter w;
  w.open(path, test::make_run(), test::make_models(), test::make_samples());
  EXPECT_EQ(w.row_count(), 3u);
  EXPECT_EQ(w.append({kill_row(3), kill_row(2)}), 1u);
  w.close();
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 4u);
  for (int i = 0; i < 4; ++i) test::expect_same(r.rows()[i], kill_row(i), false);
}

TEST(Crash, ReaderOpensWhileAWriterAppends) {
  test::TempDir dir;
  const std::string path = dir.file("live.h5");
  const int batches = 60;
  const int per_batch = 10;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::fflush(stdout);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      ResultsWriter w;
      w.open(path, test::make_run(), test::make_models(), test::make_samples());
      for (int b = 0; b < batches; ++b) {
        std::vector<TaskResult> rows;
        for (int j = 0; j < per_batch; ++j) rows.push_back(kill_row(b * per_batch + j));
        w.append(rows);
        w.flush();
        std::string msg = std::to_string((b + 1) * per_batch) + "\n";
        (void)!::write(fds[1], msg.data(), msg.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      w.close();
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer: %s\n", e.what());
      _exit(2);
    }
  }
  ::close(fds[1]);
  LineReader lr(fds[0]);
  int reads = 0;
  bool saw_active = false;
  bool h5py_done = false;
  while (lr.read_once()) {
    if (lr.lines.empty()) continue;
    size_t flushed = std::stoul(lr.lines.back());
    if (flushed >= static_cast<size_t>(batches * per_batch)) break;
    saw_active = saw_active || writer_active(path);
    ResultsReader r(path);  // must not throw while the writer runs
    ++reads;
    EXPECT_GE(r.rows().size(), flushed);
    for (const auto& row : r.rows())
      test::expect_same(row, kill_row(std::stoi(row.task_key.substr(5))), false);
    if (!h5py_done && flushed >= 200) {
      std::string out = test::run_python(
          "import sys, h5py\nf = h5py.File(sys.argv[1], \"r\", swmr=True)\n"
          "print(len(f[\"results\"]))",
          path);
      EXPECT_GE(std::stoul(out), flushed);
      h5py_done = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer failed";
  EXPECT_GT(reads, 5);
  EXPECT_TRUE(saw_active);
  EXPECT_TRUE(h5py_done);
  EXPECT_FALSE(writer_active(path));
  EXPECT_EQ(ResultsReader(path).rows().size(), static_cast<size_t>(batches * per_batch));
}

}  // namespace
}  // namespace crammer
