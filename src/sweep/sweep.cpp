// The sweep loop: coordinator (rank 0), workers (ranks > 0), and the one-process path.
// Protocol (tags on ctx.world): worker -> 0 kTagRequest {held model, stopping?, results} or
// {heartbeat} while it computes; 0 -> worker kTagReply {work: a batch} or {stop: done |
// interrupted | fatal}. Every worker gets exactly one stop, as the answer to a request, so no
// message is ever left unmatched (heartbeats come before the request that ends a batch).
#include "crammer/sweep/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include "crammer/core/retry.hpp"
#include "crammer/sweep/check.hpp"
#include "crammer/sweep/compute_thread.hpp"
#include "crammer/sweep/scheduler.hpp"
#include "crammer/sweep/wire.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"
#include "sweep_ledger.hpp"

namespace crammer {
namespace {

constexpr int kTagRequest = 101;
constexpr int kTagReply = 102;
constexpr int kTagRelease = 103;  // 0 -> worker, after rank 0 closed its store: enter finalize
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Rank 0's idle wait between polls (it cannot block in MPI_Probe: it also watches the stop flag,
// the flush timer and progress): yield a few times, then sleep with a doubling interval up to
// 200 us, so an idle coordinator costs little CPU yet answers within a fraction of a millisecond.
class Backoff {
 public:
  void wait() {
    if (spins_ < 32) {
      ++spins_;
      std::this_thread::yield();
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    sleep_us_ = std::min(sleep_us_ * 2, 200);
  }
  void reset() {
    spins_ = 0;
    sleep_us_ = 20;
  }

 private:
  int spins_ = 0;
  int sleep_us_ = 20;
};

void send_bytes(const std::vector<char>& bytes, int dest, int tag, MPI_Comm comm) {
  if (bytes.size() > size_t(INT_MAX)) {
    throw DistError("dist: message of " + std::to_string(bytes.size()) +
                    " bytes exceeds MPI's int count (reduce batching.batch_size)");
  }
  CRAMMER_MPI_CHECK(
      MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, comm));
}

std::vector<char> recv_bytes(const MPI_Status& probed, MPI_Comm comm) {
  int count = 0;
  CRAMMER_MPI_CHECK(MPI_Get_count(&probed, MPI_BYTE, &count));
  std::vector<char> bytes(static_cast<size_t>(count));
  CRAMMER_MPI_CHECK(MPI_Recv(bytes.data(), count, MPI_BYTE, probed.MPI_SOURCE, probed.MPI_TAG,
                             comm, MPI_STATUS_IGNORE));
  return bytes;
}

// Blocks until a message from `source` with `tag` is there. Used by workers for rank 0's answer,
// which always comes promptly; MPI's own blocking probe has the lowest latency (and yields the
// core when Open MPI knows the node is oversubscribed).
MPI_Status wait_for(int source, int tag, MPI_Comm comm) {
  MPI_Status st;
  CRAMMER_MPI_CHECK(MPI_Probe(source, tag, comm, &st));
  return st;
}

// A backend must answer every task of the batch, and only those.
void check_results_cover(const std::vector<Task>& batch, const std::vector<TaskResult>& results) {
  std::unordered_set<std::string> keys;
  for (const auto& t : batch) keys.insert(t.key);
  std::unordered_set<std::string> answered;
  for (const auto& r : results) {
    if (!keys.count(r.task_key)) {
      throw std::runtime_error("backend returned a result for task '" + r.task_key +
                               "', which is not in the batch");
    }
    answered.insert(r.task_key);
  }
  for (const auto& t : batch) {
    if (!answered.count(t.key)) {
      throw std::runtime_error("backend returned no result for task '" + t.key + "'");
    }
  }
}

SweepOutcome finish_outcome(SweepOutcome out, Clock::time_point start) {
  out.counts.tasks_unfinished =
      out.counts.tasks_total - out.counts.tasks_done - out.counts.tasks_failed;
  out.completed = out.counts.tasks_unfinished == 0;
  if (out.interrupted && out.stop_signal == 0) out.stop_signal = stop_signal();
  out.seconds = seconds_between(start, Clock::now());
  return out;
}

SweepOutcome run_alone(const DistContext& ctx, std::vector<Task> tasks, WorkerBackend& backend,
                       ResultSink& sink, const SweepOptions& options) {
  auto start = Clock::now();
  SweepOutcome out;
  out.counts.tasks_total = static_cast<int64_t>(tasks.size());
  Ledger ledger(sink, options, tasks, out.counts);
  TaskQueue queue(std::move(tasks));
  while (!queue.empty()) {
    if (stop_requested()) {
      out.interrupted = true;
      break;
    }
    auto batch = queue.take_batch(backend.held_model(), options.batch_size);
    ++out.counts.batches;
    std::vector<TaskResult> results;
    try {
      run_batch_with_retries(backend, batch, results, ctx.rank, ctx.device,
                             options.single_task_retries);
    } catch (const Interrupted&) {
      out.interrupted = true;
    } catch (const StopRunError& e) {
      out.fatal_error = e.what();
    }
    ledger.store(results);  // what finished before an interrupt is kept
    ledger.tick();
    if (out.interrupted || !out.fatal_error.empty()) break;
  }
  ledger.finish();
  return finish_outcome(std::move(out), start);
}

struct WorkerState {
  bool stopped = false;
  bool lost = false;               // silent past the timeout: its tasks went back to the queue
  Clock::time_point last_heard;    // its latest request or heartbeat
  std::unordered_map<std::string, Task> in_flight;  // handed out, not yet answered
};

SweepOutcome coordinate(const DistContext& ctx, std::vector<Task> tasks, ResultSink& sink,
                        const SweepOptions& options) {
  auto start = Clock::now();
  SweepOutcome out;
  out.counts.tasks_total = static_cast<int64_t>(tasks.size());
  Ledger ledger(sink, options, tasks, out.counts);
  TaskQueue queue(std::move(tasks));
  std::vector<WorkerState> workers(static_cast<size_t>(ctx.size));
  for (auto& w : workers) w.last_heard = start;
  int active = ctx.size - 1;
  bool stopping = false;
  Clock::time_point deadline;
  Backoff backoff;
  Clock::time_point last_liveness_check = start;

  // A worker silent for longer than the timeout is lost (killed, its node gone, hung): its tasks
  // go back to the queue for the others; whatever it sends later is dropped.
  auto check_liveness = [&](Clock::time_point now) {
    if (options.worker_timeout_seconds <= 0 || seconds_between(last_liveness_check, now) < 0.1) return;
    last_liveness_check = now;
    for (int w = 1; w < ctx.size; ++w) {
      auto& state = workers[static_cast<size_t>(w)];
      if (state.stopped || state.lost) continue;
      const double silent = seconds_between(state.last_heard, now);
      if (silent < options.worker_timeout_seconds) continue;
      std::vector<Task> back;
      for (auto& [key, task] : state.in_flight) back.push_back(std::move(task));
      std::sort(back.begin(), back.end(), [](const Task& a, const Task& b) { return a.key < b.key; });
      spdlog::error("rank {} sent nothing for {:.1f} s (heartbeat every {} s, timeout {} s): taken as lost; "
                    "its {} task(s) go back to the queue",
                    w, silent, options.heartbeat_seconds, options.worker_timeout_seconds, back.size());
      queue.requeue(std::move(back));
      state.in_flight.clear();
      state.lost = true;
      --active;
      ++out.lost_workers;
    }
  };

  auto begin_stop = [&](const std::string& why) {
    if (stopping) return;
    stopping = true;
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options.grace_seconds));
    spdlog::warn("{}: no new work; waiting up to {} s for {} worker(s)", why, options.grace_seconds, active);
  };
  auto signal_stop = [&] { begin_stop("stop requested (signal " + std::to_string(stop_signal()) + ")"); };

  while (active > 0) {
    check_liveness(Clock::now());
    if (active == 0) break;
    if (stop_requested()) signal_stop();
    if (stopping && Clock::now() >= deadline) break;
    int flag = 0;
    MPI_Status st;
    CRAMMER_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, ctx.world, &flag, &st));
    if (!flag) {
      ledger.tick();
      backoff.wait();
      continue;
    }
    backoff.reset();
    int w = st.MPI_SOURCE;
    const std::vector<char> bytes = recv_bytes(st, ctx.world);
    auto& state = workers.at(static_cast<size_t>(w));
    if (state.stopped) {
      throw DistError("dist: rank " + std::to_string(w) + " sent a message after its stop");
    }
    if (!state.lost) state.last_heard = Clock::now();
    if (message_kind(bytes) == MessageKind::heartbeat) continue;
    auto req = decode_request(bytes);
    if (state.lost) {
      // Its tasks were handed out again: its results would be second copies.
      spdlog::warn("rank {}, taken as lost, came back with {} row(s): dropped; it gets no more work", w,
                   req.results.size());
      send_bytes(encode_stop(StopReason::done), w, kTagReply, ctx.world);
      state.stopped = true;
      out.stopped_workers.push_back(w);
      continue;
    }
    // Every answered key must have been handed to this worker; then it is no longer in flight.
    // (A capacity-search task answers with several rows of one key.)
    std::unordered_set<std::string> answered;
    for (const auto& r : req.results) answered.insert(r.task_key);
    for (const auto& key : answered) {
      if (state.in_flight.erase(key) == 0) {
        throw DistError("dist: rank " + std::to_string(w) + " returned a result for task '" +
                        key + "', which it was not given");
      }
    }
    if (!state.in_flight.empty() && !req.stopping) {
      throw DistError("dist: rank " + std::to_string(w) + " asked for work with " +
                      std::to_string(state.in_flight.size()) + " task(s) unanswered, e.g. '" +
                      state.in_flight.begin()->first + "'");
    }
    state.in_flight.clear();  // a stopping worker dropped them: they stay unfinished
    if (!req.fatal.empty() && out.fatal_error.empty()) {
      out.fatal_error = "rank " + std::to_string(w) + ": " + req.fatal;
      spdlog::error("rank {}: {}", w, req.fatal);
      begin_stop("stopping the sweep: an error no retry can mend");
    } else if (req.stopping && req.fatal.empty() && !stop_requested()) {
      spdlog::warn("rank {} stops on signal {}; stopping the sweep", w, req.stop_signal);
      request_stop(req.stop_signal);
    }
    if (stop_requested()) signal_stop();
    queue.set_holder(w, req.held_model);

    // Answer first, store second: the worker computes while rank 0 writes.
    if (stopping || queue.empty()) {
      const StopReason reason = !out.fatal_error.empty() ? StopReason::fatal
                                : stopping                ? StopReason::interrupted
                                                          : StopReason::done;
      send_bytes(encode_stop(reason), w, kTagReply, ctx.world);
      state.stopped = true;
      out.stopped_workers.push_back(w);
      --active;
    } else {
      auto batch = queue.take_batch(req.held_model, options.batch_size);
      for (const auto& t : batch) state.in_flight.emplace(t.key, t);
      send_bytes(encode_work(batch), w, kTagReply, ctx.world);
      ++out.counts.batches;
    }
    ledger.store(req.results);
    ledger.tick();
  }
  out.interrupted = stopping && out.fatal_error.empty();
  out.no_workers_left = !stopping && !queue.empty();
  if (out.no_workers_left)
    spdlog::error("no worker is left: {} task(s) not run; every finished result is stored", queue.pending());
  out.unresponsive_workers = active;
  if (active > 0) {
    spdlog::error("{} worker(s) did not return within the grace period of {} s", active,
                  options.grace_seconds);
  }
  ledger.finish();
  return finish_outcome(std::move(out), start);
}

SweepOutcome work(const DistContext& ctx, WorkerBackend& backend, const SweepOptions& options) {
  auto start = Clock::now();
  SweepOutcome out;
  ComputeThread compute([&] {
    bind_device(ctx);
    backend.on_compute_thread();
  });
  const std::vector<char> heartbeat = encode_heartbeat();
  WorkRequest req;
  req.held_model = backend.held_model();
  for (;;) {
    if (stop_requested()) {
      req.stopping = true;
      req.stop_signal = stop_signal();
    }
    send_bytes(encode_request(req), 0, kTagRequest, ctx.world);
    req.results.clear();
    auto bytes = recv_bytes(wait_for(0, kTagReply, ctx.world), ctx.world);
    if (message_kind(bytes) == MessageKind::stop) {
      const StopReason reason = decode_stop(bytes);
      out.interrupted = reason == StopReason::interrupted;
      if (reason == StopReason::fatal && req.fatal.empty())
        out.fatal_error = "stopped by rank 0: another rank hit an error no retry can mend";
      if (!req.fatal.empty()) out.fatal_error = req.fatal;
      break;
    }
    if (req.stopping) throw DistError("dist: rank 0 sent work after this rank's stop");
    auto batch = decode_work(bytes);
    out.counts.tasks_total += static_cast<int64_t>(batch.size());
    ++out.counts.batches;
    try {
      compute.start([&] {
        run_batch_with_retries(backend, batch, req.results, ctx.rank, ctx.device, options.single_task_retries);
      });
      // However long the batch: rank 0 hears from this rank (the batch's results go with the request).
      while (!compute.wait_for(options.heartbeat_seconds > 0 ? options.heartbeat_seconds : 3600))
        if (options.heartbeat_seconds > 0) send_bytes(heartbeat, 0, kTagRequest, ctx.world);
    } catch (const Interrupted&) {
      // The finished part goes back with the stopping request; the rest stays unfinished.
      req.stopping = true;
      req.stop_signal = stop_signal();
    } catch (const StopRunError& e) {
      // Told to rank 0 with what finished; it stops every rank and the run exits 2.
      req.stopping = true;
      req.fatal = e.what();
    }
    count_tasks(out.counts, req.results);
    req.held_model = backend.held_model();
  }
  if (out.interrupted) out.stop_signal = stop_signal();
  return finish_outcome(std::move(out), start);
}

}  // namespace

void run_batch_with_retries(WorkerBackend& backend, const std::vector<Task>& batch,
                            std::vector<TaskResult>& out, int rank, const std::string& device,
                            int single_task_retries) {
  HalvingRetry retry;
  retry.retries_alone = batch.size() == 1 ? single_task_retries : 0;
  Clock::time_point started = Clock::now();  // of the latest attempt: a failed row's wall time
  retry.run = [&](size_t begin, size_t end) {
    // No new attempt after a stop: the rest of the batch is left for the resumed run.
    if (stop_requested()) throw Interrupted{};
    std::vector<Task> part(batch.begin() + static_cast<std::ptrdiff_t>(begin),
                           batch.begin() + static_cast<std::ptrdiff_t>(end));
    started = Clock::now();
    auto results = backend.run(part);
    check_results_cover(part, results);
    for (auto& r : results) {
      r.rank = rank;  // the rank that computed the row, whatever the backend knows
      if (r.device.empty()) r.device = device;
      out.push_back(std::move(r));
    }
  };
  retry.fail = [&](size_t i, const std::string& error) {
    spdlog::warn("task {} failed: {}", batch[i].key, error);
    out.push_back(failed_result(batch[i], batch[i].length, error, rank, device));
    out.back().wall_seconds = seconds_between(started, Clock::now());
  };
  retry.log = [&](const std::string& message) {
    spdlog::warn("tasks {}..: {}", batch.front().key, message);
  };
  retry(0, batch.size());
}

void release_workers(const DistContext& ctx, const SweepOutcome& outcome) {
  if (ctx.size == 1 || ctx.rank != 0) return;
  static const char release = 1;  // outlives the sends, which complete in finalize at the latest
  for (int w : outcome.stopped_workers) {
    MPI_Request request;
    CRAMMER_MPI_CHECK(MPI_Isend(&release, 1, MPI_CHAR, w, kTagRelease, ctx.world, &request));
    CRAMMER_MPI_CHECK(MPI_Request_free(&request));
  }
}

void await_release(const DistContext& ctx) {
  if (ctx.size == 1 || ctx.rank == 0) return;
  char release = 0;
  MPI_Request request;
  CRAMMER_MPI_CHECK(MPI_Irecv(&release, 1, MPI_CHAR, 0, kTagRelease, ctx.world, &request));
  for (;;) {  // possibly for as long as another worker's last batch: poll gently
    int done = 0;
    CRAMMER_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

SweepOutcome run_sweep(const DistContext& ctx, std::vector<Task> tasks, WorkerBackend& backend,
                       ResultSink* sink, const SweepOptions& options) {
  if (options.batch_size == 0) throw ConfigError("dist: batch_size must be at least 1, got 0");
  if (ctx.rank == 0 && sink == nullptr) throw DistError("run_sweep: rank 0 needs a ResultSink");
  if (options.worker_timeout_seconds > 0 &&
      (options.heartbeat_seconds <= 0 || options.worker_timeout_seconds <= options.heartbeat_seconds))
    throw ConfigError("dist: the worker timeout (" + std::to_string(options.worker_timeout_seconds) +
                      " s) must exceed the heartbeat interval (" + std::to_string(options.heartbeat_seconds) +
                      " s), or be 0 to never take a worker as lost");
  if (ctx.size == 1) return run_alone(ctx, std::move(tasks), backend, *sink, options);
  if (ctx.world == MPI_COMM_NULL) throw DistError("run_sweep: DistContext has no communicator");
  if (ctx.rank == 0) {
    spdlog::info("sweep: {} tasks, {} worker rank(s), batches of up to {}", tasks.size(),
                 ctx.size - 1, options.batch_size);
    return coordinate(ctx, std::move(tasks), *sink, options);
  }
  return work(ctx, backend, options);
}

}  // namespace crammer
