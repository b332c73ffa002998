// ComputeThread: a job queue of length one on a persistent thread (compute_thread.hpp).
#include "crammer/sweep/compute_thread.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

namespace crammer {

ComputeThread::ComputeThread(std::function<void()> on_start)
    : thread_([this, f = std::move(on_start)]() mutable { loop(std::move(f)); }) {}

ComputeThread::~ComputeThread() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !job_; });  // a job already taken runs to its end
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ComputeThread::loop(std::function<void()> on_start) {
  std::exception_ptr start_error;
  try {
    if (on_start) on_start();
  } catch (...) {
    start_error = std::current_exception();  // every job reports it
  }
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return quit_ || job_; });
    if (!job_) return;
    std::function<void()> job = std::move(job_);
    job_ = nullptr;  // taken: the destructor may now ask the loop to end after it
    lock.unlock();
    std::exception_ptr error = start_error;
    if (!error) {
      try {
        job();
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    error_ = error;
    finished_ = true;
    cv_.notify_all();
  }
}

void ComputeThread::start(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) throw std::logic_error("ComputeThread::start: a job is still running");
    running_ = true;
    finished_ = false;
    error_ = nullptr;
    job_ = std::move(job);
  }
  cv_.notify_all();
}

bool ComputeThread::wait_for(double seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!running_) return true;
  if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return finished_; })) return false;
  running_ = false;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return true;
}

}  // namespace crammer
