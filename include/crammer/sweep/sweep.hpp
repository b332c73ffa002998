// The sweep loop of DESIGN §4: rank 0 coordinates (hands out batches, receives results, is the
// only caller of the ResultSink); the other ranks pull work and run it through a WorkerBackend.
// With one process the coordinator runs the backend in-process. Generic: the cramming engine
// and the HDF5 store are plugged in by the app layer through the two interfaces below.
// Signals, failures, exit codes: docs/distributed.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crammer/sweep/context.hpp"
#include "crammer/sweep/progress.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

// Runs batches on one rank. run() returns at least one result per task (several for capacity
// search tasks), may throw std::exception (the batch is retried in halves, then failed rows are
// recorded) or crammer::Interrupted (the batch is dropped unreported: a stop was requested).
// The sweep layer sets TaskResult::rank (and device, when the backend left it empty).
class WorkerBackend {
 public:
  virtual ~WorkerBackend() = default;
  virtual std::vector<TaskResult> run(const std::vector<Task>& batch) = 0;
  // Model index currently loaded, -1 when none: the coordinator prefers tasks of this model.
  virtual int32_t held_model() const = 0;
  // Runs first on the thread that will run every batch of a worker rank (per-thread state, e.g.
  // the intra-op thread count). The sweep layer binds the rank's GPU to that thread itself.
  virtual void on_compute_thread() {}
};

// Where rank 0 puts results. A result counts as stored once store() has returned; flush() makes
// stored results durable (called at least every SweepOptions::flush_seconds and at the end).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void store(const TaskResult& result) = 0;
  // The rows of one hand-out at once, so a durable sink pays one sync per batch, not per row.
  virtual void store_batch(const std::vector<TaskResult>& rows) {
    for (const auto& r : rows) store(r);
  }
  virtual void flush() = 0;
};

struct SweepOptions {
  size_t batch_size = 16;      // most tasks per hand-out
  double flush_seconds = 10;   // sink flush interval
  double grace_seconds = 30;   // after a stop: how long rank 0 waits for in-flight results
  int single_task_retries = 1; // extra attempts of a task that failed when it ran alone
  // Worker liveness (multi-rank runs): a worker computing a batch sends a heartbeat this often;
  // rank 0 takes a worker it has not heard from for worker_timeout_seconds as lost and hands its
  // tasks to the others. 0: never. Must exceed heartbeat_seconds (ConfigError otherwise).
  double heartbeat_seconds = 10;
  double worker_timeout_seconds = 120;
  ProgressOptions progress;
};

struct SweepCounts {
  int64_t tasks_total = 0;      // rank 0: tasks given to run_sweep; workers: tasks received
  int64_t tasks_done = 0;       // tasks whose rows were stored with status done
  int64_t tasks_failed = 0;     // tasks stored as failed rows
  int64_t tasks_unfinished = 0; // not stored (stop before they ran, or dropped on Interrupted)
  int64_t rows_stored = 0;      // rank 0: results returned by ResultSink::store()
  int64_t batches = 0;          // batches handed out (rank 0) or run (workers)
};

struct SweepOutcome {
  bool completed = false;     // every task has a stored row
  bool interrupted = false;   // stopped early on a signal: exit with kExitInterrupted
  int stop_signal = 0;        // the signal that stopped the sweep (0 if unknown)
  int unresponsive_workers = 0;  // rank 0: workers that did not check in within grace_seconds
  int lost_workers = 0;          // rank 0: workers taken as lost (silent past the timeout)
  bool no_workers_left = false;  // rank 0: every worker was lost with tasks pending: exit 75
  // Non-empty: a StopRunError stopped the sweep (rank 0 and the rank that hit it: its text; other
  // workers: that rank 0 stopped them for it). The caller exits 2; stored rows are kept.
  std::string fatal_error;
  double seconds = 0;
  SweepCounts counts;
  std::vector<int> stopped_workers;  // rank 0: the workers it told to stop (they await release)
  // True when some worker may still be busy: the caller should MPI_Abort (with
  // kExitInterrupted) after closing the store instead of MPI_Finalize, which would wait for it.
  bool abort_needed() const { return unresponsive_workers > 0; }
};

// Collective over ctx.world. tasks: the sweep (rank 0; ignored elsewhere). sink: required on
// rank 0, ignored (may be null) elsewhere. backend: used by workers, and by rank 0 when it is
// the only rank. Throws DistError on MPI failure; sink exceptions propagate from rank 0.
SweepOutcome run_sweep(const DistContext& ctx, std::vector<Task> tasks, WorkerBackend& backend,
                       ResultSink* sink, const SweepOptions& options);

// The end of a run of several ranks. A worker told to stop calls await_release and waits there
// (however long) until rank 0, having closed everything it writes, calls release_workers; only
// then do the ranks enter MPI_Finalize, whose fence waits for every rank but gives up after
// kFinalizeLimitSeconds (sweep/mpi_session.hpp). Without it a worker done early would give up
// while another still computes its last batch, and the job would be taken down with it.
// Both return at once in a job of one rank.
void release_workers(const DistContext& ctx, const SweepOutcome& outcome);
void await_release(const DistContext& ctx);

// Runs `batch` on `backend`, appending one or more results per task to `out`. A batch that
// throws std::exception is retried as two halves, recursively; a task that still throws when it
// runs alone (after `single_task_retries` more attempts if it was alone from the start) becomes
// a failed row carrying the error text. Interrupted propagates; `out` then holds the results of
// the parts that finished. rank/device fill the failed rows (policy: core/retry.hpp).
void run_batch_with_retries(WorkerBackend& backend, const std::vector<Task>& batch,
                            std::vector<TaskResult>& out, int rank, const std::string& device,
                            int single_task_retries = 1);

}  // namespace crammer
