// One long-lived thread that runs a worker's batches, so the rank's main thread stays free for
// MPI while a batch computes (MPI is initialised FUNNELED: only the main thread calls it) and can
// send heartbeats however long a batch takes. One job at a time.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace crammer {

class ComputeThread {
 public:
  // `on_start` runs first on the new thread (per-thread state of the backend: thread counts,
  // the bound device).
  explicit ComputeThread(std::function<void()> on_start = {});
  ~ComputeThread();  // waits for a running job, then joins
  ComputeThread(const ComputeThread&) = delete;
  ComputeThread& operator=(const ComputeThread&) = delete;

  void start(std::function<void()> job);  // throws std::logic_error while a job runs
  // Waits up to `seconds` for the job; true when it has ended. Then rethrows what it threw
  // (once) and a new job may start.
  bool wait_for(double seconds);

 private:
  void loop(std::function<void()> on_start);

  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool running_ = false;  // a job was started and not yet collected by wait_for
  bool finished_ = false;
  bool quit_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace crammer
