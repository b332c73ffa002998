// The startup device check (sweep/device_check.hpp): probe on every worker, agree, all-reduce
// over the workers (NCCL when built with it and on GPUs, MPI otherwise), agree again.
//
// NCCL refuses two ranks of one communicator on the same GPU ("Duplicate GPU detected"), and
// map_device gives a GPU several workers when a node has more workers than GPUs. So the workers
// are split into rounds: round k holds, on every node, the (k+1)-th worker of each device index.
// Each round is one NCCL communicator on distinct GPUs; MPI adds the rounds' sums together.
#include "crammer/sweep/device_check.hpp"

#include <cstdio>
#include <exception>
#include <vector>

#include "crammer/sweep/check.hpp"

#if defined(CRAMMER_WITH_NCCL)
#if !defined(CRAMMER_WITH_CUDA)
#error "CRAMMER_WITH_NCCL needs CRAMMER_WITH_CUDA (the CMake option sets both)"
#endif
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace crammer {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string who(const DistContext& ctx) {
  return "rank " + std::to_string(ctx.rank) + " (host " + ctx.host + ", device " + ctx.device + ")";
}

// A communicator freed on scope exit (raw call: a destructor must not throw).
struct CommGuard {
  MPI_Comm comm = MPI_COMM_NULL;
  ~CommGuard() {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
};

// Every rank says "" (fine) or its error. Throws DeviceCheckError on every rank when any rank
// failed: rank 0's lists each failing rank's error, the others name the failing ranks.
void agree(const DistContext& ctx, const std::string& stage, const std::string& error) {
  int ok = error.empty() ? 1 : 0;
  std::vector<int> oks(static_cast<size_t>(ctx.size));
  CRAMMER_MPI_CHECK(MPI_Allgather(&ok, 1, MPI_INT, oks.data(), 1, MPI_INT, ctx.world));
  std::vector<int> failed;
  for (int r = 0; r < ctx.size; ++r)
    if (!oks[static_cast<size_t>(r)]) failed.push_back(r);
  if (failed.empty()) return;

  // Only now the texts: a passing check costs one small all-gather per stage.
  int len = static_cast<int>(error.size());
  std::vector<int> lens(ctx.coordinator() ? static_cast<size_t>(ctx.size) : 0);
  CRAMMER_MPI_CHECK(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, ctx.world));
  std::vector<int> displs(lens.size());
  int total = 0;
  for (size_t r = 0; r < lens.size(); ++r) {
    displs[r] = total;
    total += lens[r];
  }
  std::vector<char> texts(static_cast<size_t>(total) + 1);
  CRAMMER_MPI_CHECK(MPI_Gatherv(error.data(), len, MPI_CHAR, texts.data(), lens.data(), displs.data(), MPI_CHAR,
                                0, ctx.world));

  const int workers = ctx.size == 1 ? 1 : ctx.size - 1;
  std::string ranks;
  for (int r : failed) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  if (!ctx.coordinator())
    throw DeviceCheckError("device check (" + stage + ") failed on rank(s) " + ranks + "; rank 0 reports each error");
  std::string msg = "device check (" + stage + ") failed on " + std::to_string(failed.size()) + " of " +
                    std::to_string(workers) + " worker(s); no task was handed out:";
  for (int r : failed)
    msg += "\n  " + std::string(texts.data() + displs[static_cast<size_t>(r)], static_cast<size_t>(lens[static_cast<size_t>(r)]));
  throw DeviceCheckError(msg);
}

#if defined(CRAMMER_WITH_NCCL)
// Sum of `value` over `comm` (ranks on distinct GPUs) with NCCL on this rank's bound device.
double nccl_sum(const DistContext& ctx, MPI_Comm comm, double value) {
  int rank = 0, size = 0;
  CRAMMER_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  CRAMMER_MPI_CHECK(MPI_Comm_size(comm, &size));
  ncclUniqueId id{};
  if (rank == 0) CRAMMER_NCCL_CHECK(ncclGetUniqueId(&id));
  CRAMMER_MPI_CHECK(MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, 0, comm));

  // Freed on every path; unchecked in the destructor (it runs while an error propagates).
  struct Resources {
    ncclComm_t nccl = nullptr;
    cudaStream_t stream = nullptr;
    void* buf = nullptr;  // [1] double
    ~Resources() {
      if (nccl) ncclCommDestroy(nccl);
      if (stream) cudaStreamDestroy(stream);
      if (buf) cudaFree(buf);
    }
  } res;
  CRAMMER_CUDA_CHECK(cudaSetDevice(ctx.device_index));
  CRAMMER_CUDA_CHECK(cudaMalloc(&res.buf, sizeof(double)));
  CRAMMER_CUDA_CHECK(cudaMemcpy(res.buf, &value, sizeof(double), cudaMemcpyHostToDevice));
  CRAMMER_CUDA_CHECK(cudaStreamCreate(&res.stream));
  CRAMMER_NCCL_CHECK(ncclCommInitRank(&res.nccl, size, id, rank));
  CRAMMER_NCCL_CHECK(ncclAllReduce(res.buf, res.buf, 1, ncclDouble, ncclSum, res.nccl, res.stream));
  CRAMMER_CUDA_CHECK(cudaStreamSynchronize(res.stream));
  double sum = 0;
  CRAMMER_CUDA_CHECK(cudaMemcpy(&sum, res.buf, sizeof(double), cudaMemcpyDeviceToHost));
  CRAMMER_NCCL_CHECK(ncclCommDestroy(res.nccl));
  res.nccl = nullptr;
  CRAMMER_CUDA_CHECK(cudaStreamDestroy(res.stream));
  res.stream = nullptr;
  CRAMMER_CUDA_CHECK(cudaFree(res.buf));
  res.buf = nullptr;
  return sum;
}

// Which round of GPU sharing this rank is in: how many ranks before it on the node use the
// same device index. Collective over ctx.node.
int sharing_round(const DistContext& ctx) {
  std::vector<int> indices(static_cast<size_t>(ctx.local_size));
  CRAMMER_MPI_CHECK(MPI_Allgather(&ctx.device_index, 1, MPI_INT, indices.data(), 1, MPI_INT, ctx.node));
  int round = 0;
  for (int j = 0; j < ctx.local_rank; ++j)
    if (indices[static_cast<size_t>(j)] == ctx.device_index) ++round;
  return round;
}
#endif

}  // namespace

DeviceCheckResult check_devices(const DistContext& ctx, const DeviceProbe& probe) {
  const bool worker = ctx.worker();

  // 1. The probe, on workers only.
  double value = 0;
  std::string error;
  if (worker) {
    try {
      value = probe.run();
      if (!(value == probe.expected))
        error = probe.what + " = " + num(value) + ", expected " + num(probe.expected);
    } catch (const std::exception& e) {
      error = "probe " + probe.what + " threw: " + e.what();
    } catch (...) {
      error = "probe " + probe.what + " threw a non-standard exception";
    }
    if (!error.empty()) error = who(ctx) + ": " + error;
  }
  agree(ctx, "probe", error);

  // 2. All-reduce over the workers.
  CommGuard workers;
  CRAMMER_MPI_CHECK(MPI_Comm_split(ctx.world, worker ? 0 : MPI_UNDEFINED, ctx.rank, &workers.comm));
  bool use_nccl = false;
#if defined(CRAMMER_WITH_NCCL)
  use_nccl = ctx.device_index >= 0;
  // Collective over the node (the coordinator takes part too), so every rank of an NCCL build
  // makes the same calls whatever its device.
  const int round = sharing_round(ctx);
#endif
  int n_workers = 0, rounds = 0;
  double sum = 0;
  if (worker) {
    CRAMMER_MPI_CHECK(MPI_Comm_set_errhandler(workers.comm, MPI_ERRORS_RETURN));
    CRAMMER_MPI_CHECK(MPI_Comm_size(workers.comm, &n_workers));
    const double want = n_workers * probe.expected;
    if (use_nccl) {
#if defined(CRAMMER_WITH_NCCL)
      CommGuard group;
      CRAMMER_MPI_CHECK(MPI_Comm_split(workers.comm, round, ctx.rank, &group.comm));
      CRAMMER_MPI_CHECK(MPI_Comm_set_errhandler(group.comm, MPI_ERRORS_RETURN));
      int group_rank = 0, group_size = 0;
      CRAMMER_MPI_CHECK(MPI_Comm_rank(group.comm, &group_rank));
      CRAMMER_MPI_CHECK(MPI_Comm_size(group.comm, &group_size));
      double group_sum = nccl_sum(ctx, group.comm, value);
      if (!(group_sum == group_size * probe.expected))
        error = who(ctx) + ": NCCL all-reduce over " + std::to_string(group_size) + " GPU(s) (round " +
                std::to_string(round) + ") gave " + num(group_sum) + ", expected " + std::to_string(group_size) +
                " x " + num(probe.expected) + " = " + num(group_size * probe.expected);
      // The rounds' sums, each counted once (by the round's first rank).
      double part = group_rank == 0 ? group_sum : 0.0;
      CRAMMER_MPI_CHECK(MPI_Allreduce(&part, &sum, 1, MPI_DOUBLE, MPI_SUM, workers.comm));
      CRAMMER_MPI_CHECK(MPI_Allreduce(&round, &rounds, 1, MPI_INT, MPI_MAX, workers.comm));
      ++rounds;
#endif
    } else {
      CRAMMER_MPI_CHECK(MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, workers.comm));
    }
    if (error.empty() && !(sum == want))
      error = who(ctx) + ": all-reduce over the " + std::to_string(n_workers) + " worker(s) gave " + num(sum) +
              ", expected " + std::to_string(n_workers) + " x " + num(probe.expected) + " = " + num(want);
  }
  agree(ctx, "all-reduce", error);

  // Every rank returns what the first worker saw (the coordinator has no sum of its own).
  double shared[4] = {sum, double(n_workers), double(rounds), use_nccl ? 1.0 : 0.0};
  CRAMMER_MPI_CHECK(MPI_Bcast(shared, 4, MPI_DOUBLE, ctx.size == 1 ? 0 : 1, ctx.world));
  DeviceCheckResult result;
  result.sum = shared[0];
  result.workers = static_cast<int>(shared[1]);
  result.nccl_groups = static_cast<int>(shared[2]);
  result.transport = shared[3] != 0 ? "nccl" : "mpi";
  return result;
}

}  // namespace crammer
