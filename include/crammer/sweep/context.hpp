// DistContext: everything one rank knows about the distributed run (DESIGN principle 9) —
// rank, size, node-local rank, host, device string, communicators. Not the sweep loop
// (sweep/sweep.hpp), not the device rule itself (sweep/device_map.hpp), not the startup device
// check (sweep/device_check.hpp). MPI_Init / MPI_Finalize stay with the caller (`main`).
#pragma once

#include <string>
#include <vector>

#include <mpi.h>

#include "crammer/sweep/device_map.hpp"

namespace crammer {

struct DistOptions {
  bool use_cuda = false;  // workers get "cuda:<i>" (map_device) instead of "cpu"
  int visible_gpus = 0;   // GPUs this process sees (the caller asks LibTorch); used with use_cuda
  int fixed_device = -1;  // runtime.device cuda:N -> N for every worker; -1: round robin
};

// Move-only: owns duplicated communicators, freed on destruction unless MPI was finalized first.
struct DistContext {
  int rank = 0;
  int size = 1;
  int local_rank = 0;   // rank among the processes of this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
  std::string host;
  std::vector<int> node_ranks;  // ascending world ranks on this node, this rank included
  std::string device = "cpu";  // "cpu" or "cuda:<device_index>"; always "cpu" for the
                               // coordinator of a multi-rank run
  int device_index = -1;
  MPI_Comm world = MPI_COMM_NULL;  // a dup of MPI_COMM_WORLD with MPI_ERRORS_RETURN
  MPI_Comm node = MPI_COMM_NULL;   // the ranks of this node

  bool coordinator() const { return rank == 0; }
  // Runs the backend: every rank but the coordinator, or the one process of a 1-rank run.
  bool worker() const { return size == 1 || rank != 0; }

  DistContext() = default;
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;
  DistContext(DistContext&& other) noexcept;
  DistContext& operator=(DistContext&& other) noexcept;
  ~DistContext();
};

// Collective over MPI_COMM_WORLD; MPI must be initialized (DistError otherwise). Sets
// MPI_ERRORS_RETURN on the duplicated communicators so CRAMMER_MPI_CHECK sees every error.
// With use_cuda the device comes from map_device (DistError when it has none to give); built
// with CRAMMER_WITH_CUDA a worker then binds it (cudaSetDevice). The coordinator of a multi-rank
// run gets "cpu" and calls no CUDA function.
// What map_device needs to know about this rank, from its context and the run's options.
DeviceMapInput device_map_input(const DistContext& ctx, const DistOptions& options);

DistContext make_dist_context(const DistOptions& options = {});

// Binds the calling thread to ctx's GPU (cudaSetDevice: the current device is per thread).
// Nothing for "cpu" or without CRAMMER_WITH_CUDA.
void bind_device(const DistContext& ctx);

// Intra-op threads for one rank: `configured` when > 0; otherwise the node's cores split over
// the ranks of the node (at least 1). node_cores <= 0 means std::thread::hardware_concurrency().
int threads_per_rank(int configured, int local_size, int node_cores = 0);

}  // namespace crammer
