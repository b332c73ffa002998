// ComputeThread: batches run on one thread of their own (set up once), the caller waits in
// slices (to send heartbeats), and what a job throws reaches the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "crammer/sweep/compute_thread.hpp"
#include "crammer/util/interrupt.hpp"

using namespace crammer;

TEST(DistComputeThread, OneThreadSetUpOnceRunsEveryJob) {
  std::thread::id setup_on, caller = std::this_thread::get_id();
  int setups = 0;
  ComputeThread compute([&] {
    setup_on = std::this_thread::get_id();
    ++setups;
  });
  for (int i = 0; i < 3; ++i) {
    std::thread::id ran_on;
    compute.start([&] { ran_on = std::this_thread::get_id(); });
    while (!compute.wait_for(0.01)) {
    }
    EXPECT_EQ(ran_on, setup_on);
    EXPECT_NE(ran_on, caller);
  }
  EXPECT_EQ(setups, 1);
}

TEST(DistComputeThread, WaitForReturnsInSlicesWhileALongJobRuns) {
  ComputeThread compute;
  std::atomic<bool> release{false};
  compute.start([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  int slices = 0;
  for (; slices < 5; ++slices) EXPECT_FALSE(compute.wait_for(0.01));
  EXPECT_THROW(compute.start([] {}), std::logic_error);  // one job at a time
  release = true;
  EXPECT_TRUE(compute.wait_for(5));
  EXPECT_TRUE(compute.wait_for(0));  // nothing running
}

TEST(DistComputeThread, ExceptionsReachTheCallerOnceAndSetupErrorsEveryJob) {
  ComputeThread compute;
  compute.start([] { throw Interrupted{}; });
  EXPECT_THROW(compute.wait_for(5), Interrupted);
  compute.start([] {});
  EXPECT_TRUE(compute.wait_for(5));
  ComputeThread broken([] { throw std::runtime_error("no device"); });
  for (int i = 0; i < 2; ++i) {
    broken.start([] { ADD_FAILURE() << "a job ran after its thread's setup failed"; });
    EXPECT_THROW(broken.wait_for(5), std::runtime_error);
  }
}
