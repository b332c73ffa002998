// DistContext: everything one rank knows about the distributed run (DESIGN principle 9) —
// rank, size, node-local rank, host, device string, communicators. Not the sweep loop
// (dist/sweep.hpp). MPI_Init / MPI_Finalize stay with the caller (`main`).
#pragma once

#include <string>

#include <mpi.h>

#if defined(CRAMMER_WITH_NCCL)
#include <nccl.h>
#endif

namespace crammer {

struct DistOptions {
  bool use_cuda = false;   // device "cuda:<i>" instead of "cpu"
  int gpus_per_node = 0;   // >0: device index = local_rank % gpus_per_node; 0: = local_rank
  bool nccl = false;       // build an NCCL communicator over all ranks (needs CRAMMER_WITH_NCCL)
};

// Move-only: owns duplicated communicators (and the NCCL communicator), freed on destruction
// unless MPI was finalized first.
struct DistContext {
  int rank = 0;
  int size = 1;
  int local_rank = 0;   // rank among the processes of this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
  std::string host;
  std::string device = "cpu";  // "cpu" or "cuda:<device_index>"
  int device_index = -1;
  MPI_Comm world = MPI_COMM_NULL;  // a dup of MPI_COMM_WORLD with MPI_ERRORS_RETURN
  MPI_Comm node = MPI_COMM_NULL;   // the ranks of this node
#if defined(CRAMMER_WITH_NCCL)
  ncclComm_t nccl = nullptr;
#endif

  bool coordinator() const { return rank == 0; }

  DistContext() = default;
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;
  DistContext(DistContext&& other) noexcept;
  DistContext& operator=(DistContext&& other) noexcept;
  ~DistContext();
};

// Collective over MPI_COMM_WORLD; MPI must be initialized (DistError otherwise). Sets
// MPI_ERRORS_RETURN on the duplicated communicators so CRAMMER_MPI_CHECK sees every error.
DistContext make_dist_context(const DistOptions& options = {});

// Intra-op threads for one rank: `configured` when > 0; otherwise the node's cores split over
// the ranks of the node (at least 1). node_cores <= 0 means std::thread::hardware_concurrency().
int threads_per_rank(int configured, int local_size, int node_cores = 0);

}  // namespace crammer
