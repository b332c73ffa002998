// Test driver for the MPI integration tests (tests/sweep/mpi_sweep_test.py): runs run_sweep over
// synthetic tasks with the synthetic TEST backend under `mpiexec -n N`; rank 0 writes one line
// per stored result to --out (flushed to the OS per row, fsync'ed on flush) and a summary file.
// Exit codes as the crammer command: 0 done, 75 interrupted, 1 error.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crammer/sweep/context.hpp"
#include "crammer/sweep/mpi_session.hpp"
#include "crammer/sweep/sweep.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"
#include "crammer/util/log.hpp"
#include "synthetic_backend.hpp"

using namespace crammer;

namespace {

class FileSink : public ResultSink {
 public:
  explicit FileSink(const std::string& path) : f_(std::fopen(path.c_str(), "w")) {
    if (!f_) throw Error("cannot open " + path);
  }
  ~FileSink() override { std::fclose(f_); }
  void store(const TaskResult& r) override {
    double memsum = 0;
    for (float v : r.memory) memsum += v;
    std::fprintf(f_, "%s\t%d\t%lld\t%d\t%d\t%d\t%.17g\t%.17g\t%d\t%d\t%.9g\t%zu\t%d\t%s\n",
                 r.task_key.c_str(), r.model_index, static_cast<long long>(r.sample_id), r.n_mem,
                 r.length, int(r.status), r.best_acc, r.best_loss, r.steps, r.token_gain, memsum,
                 r.curve_loss.size(), r.rank, r.error.c_str());
    // In the OS before store() returns: a row reported stored survives this process's death.
    std::fflush(f_);
  }
  void flush() override {
    std::fflush(f_);
    fsync(fileno(f_));
  }

 private:
  std::FILE* f_;
};

struct Args {
  std::string out, summary;
  int models = 3, samples = 10, task_ms = 0;
  size_t batch = 8;
  double grace = 5, flush = 0.2;
  double heartbeat = 10, timeout = 120;
  std::vector<std::string> fail;
  std::vector<std::string> fatal;
  std::string progress = "log";
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--out") a.out = v;
    else if (k == "--summary") a.summary = v;
    else if (k == "--models") a.models = std::stoi(v);
    else if (k == "--samples") a.samples = std::stoi(v);
    else if (k == "--task-ms") a.task_ms = std::stoi(v);
    else if (k == "--batch") a.batch = std::stoul(v);
    else if (k == "--grace") a.grace = std::stod(v);
    else if (k == "--flush") a.flush = std::stod(v);
    else if (k == "--heartbeat") a.heartbeat = std::stod(v);
    else if (k == "--timeout") a.timeout = std::stod(v);
    else if (k == "--fail") a.fail.push_back(v);
    else if (k == "--fatal") a.fatal.push_back(v);
    else if (k == "--progress") a.progress = v;
    else throw ConfigError("sweep_driver: unknown option " + k);
  }
  if (a.out.empty() || a.summary.empty()) throw ConfigError("sweep_driver: --out and --summary are required");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  install_stop_handlers();
  int code = 0;
  bool abort_needed = false;
  std::string exit_file;
  try {
    auto args = parse(argc, argv);
    auto ctx = make_dist_context();
    init_logging("info", ctx.rank);
    exit_file = args.summary + ".exit." + std::to_string(ctx.rank);
    // pid files let the test signal individual ranks.
    if (FILE* p = std::fopen((args.summary + ".pid." + std::to_string(ctx.rank)).c_str(), "w")) {
      std::fprintf(p, "%d\n", int(getpid()));
      std::fclose(p);
    }
    SweepOptions opts;
    opts.batch_size = args.batch;
    opts.grace_seconds = args.grace;
    opts.flush_seconds = args.flush;
    opts.heartbeat_seconds = args.heartbeat;
    opts.worker_timeout_seconds = args.timeout;
    opts.progress.mode = parse_progress_mode(args.progress);
    opts.progress.log_seconds = 0.5;
    test::SyntheticBackend backend(args.fail, args.task_ms, args.fatal);
    std::vector<Task> tasks;
    std::unique_ptr<FileSink> sink;
    if (ctx.rank == 0) {
      tasks = test::synthetic_tasks(args.models, args.samples);
      sink = std::make_unique<FileSink>(args.out);
    }
    auto out = run_sweep(ctx, std::move(tasks), backend, sink.get(), opts);
    sink.reset();  // closed before anything is reported
    if (ctx.rank == 0) {
      FILE* s = std::fopen(args.summary.c_str(), "w");
      std::fprintf(s,
                   "completed=%d\ninterrupted=%d\nstop_signal=%d\nrows_stored=%lld\n"
                   "tasks_done=%lld\ntasks_failed=%lld\ntasks_unfinished=%lld\n"
                   "unresponsive=%d\nseconds=%.3f\nfatal=%d\nlost=%d\nno_workers_left=%d\n",
                   int(out.completed), int(out.interrupted), out.stop_signal,
                   static_cast<long long>(out.counts.rows_stored),
                   static_cast<long long>(out.counts.tasks_done),
                   static_cast<long long>(out.counts.tasks_failed),
                   static_cast<long long>(out.counts.tasks_unfinished), out.unresponsive_workers,
                   out.seconds, int(!out.fatal_error.empty()), out.lost_workers, int(out.no_workers_left));
      if (!out.fatal_error.empty()) std::fprintf(stderr, "sweep_driver: fatal: %s\n", out.fatal_error.c_str());
      std::fclose(s);
    }
    abort_needed = out.abort_needed();
    code = !out.fatal_error.empty()                      ? 2
           : out.interrupted || out.no_workers_left ? kExitInterrupted
                                                    : 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "sweep_driver: %s\n", e.what());
    code = e.exit_code();
    abort_needed = true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sweep_driver: %s\n", e.what());
    code = 1;
    abort_needed = true;
  }
  // Each rank's own exit code, for the tests (mpirun reports only one, or its own).
  if (!exit_file.empty()) {
    if (FILE* e = std::fopen(exit_file.c_str(), "w")) {
      std::fprintf(e, "%d\n", code);
      std::fclose(e);
    }
  }
  if (abort_needed) MPI_Abort(MPI_COMM_WORLD, code);
  finalize_world(code);
  return code;
}
