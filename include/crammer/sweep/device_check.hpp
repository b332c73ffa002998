// Startup device check: before the coordinator hands out work, every worker proves that its
// device computes and that the job's devices can talk, and all ranks agree on the outcome, so
// a bad GPU stops the job at once (naming rank, host and device) instead of failing every task
// it pulls. Not a benchmark and not a health monitor during the sweep. Torch-free: the app
// supplies the probe (LibTorch on ctx.device); tests/sweep supplies a plain C++ one.
#pragma once

#include <functional>
#include <string>

#include "crammer/sweep/context.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

// Something small computed on this rank's device.
struct DeviceProbe {
  std::string what;             // for messages, e.g. "sum(ones(64,64) @ ones(64,64))"
  double expected = 0;          // what a healthy device returns, exactly (e.g. 262144)
  std::function<double()> run;  // computes on the rank's device; may throw
};

struct DeviceCheckResult {
  int workers = 0;        // ranks that ran the probe
  double sum = 0;         // the all-reduced probe values: workers x expected
  std::string transport;  // "nccl" or "mpi": what carried the all-reduce
  int nccl_groups = 0;    // NCCL communicators used (one per round of GPU sharing); 0 with mpi
};

// A failed check. Exit code 2: fix the machine or the job first, a rerun would fail the same.
class DeviceCheckError : public DistError {
 public:
  using DistError::DistError;
  int exit_code() const override { return 2; }
};

// Collective over ctx.world; every rank calls it, the same result on every rank.
// 1. Workers (every rank but the coordinator; the one rank of a 1-process run) run the probe
//    and compare it with probe.expected; the coordinator touches no device.
// 2. All ranks agree (MPI over world): if any probe threw or was wrong, rank 0 throws one
//    DeviceCheckError listing each failing rank, host, device and error; the others throw a
//    DeviceCheckError naming the failing ranks, so nobody waits.
// 3. Workers all-reduce (sum) their values: with NCCL (built with CRAMMER_WITH_NCCL and device
//    != cpu) on workers-only NCCL communicators, otherwise with MPI over the workers; each
//    checks the sum equals workers x expected, and all ranks agree again as in 2.
// A failing MPI/NCCL/CUDA call in 3 throws DistError at once (checked calls); the caller then
// aborts MPI, which also ends ranks waiting in a collective.
DeviceCheckResult check_devices(const DistContext& ctx, const DeviceProbe& probe);

}  // namespace crammer
