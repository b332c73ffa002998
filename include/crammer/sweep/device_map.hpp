// Which device a rank computes on: a pure function of where the ranks sit and how many GPUs
// the process can see, so the rule is tested without MPI or a GPU (tests/sweep/
// test_device_map.cpp, and against the Slurm scripts in tests/slurm/test_submit.cpp).
// Not the binding itself (cudaSetDevice lives in make_dist_context) and no MPI, no CUDA here.
#pragma once

#include <vector>

namespace crammer {

// What one rank knows when it picks its device.
struct DeviceMapInput {
  int rank = 0;                // world rank
  int world_size = 1;
  std::vector<int> node_ranks;  // ascending world ranks on this rank's node, this rank included
  int visible_gpus = 0;        // devices this process can see (honours CUDA_VISIBLE_DEVICES)
  int fixed_device = -1;       // runtime.device cuda:N -> N; -1: spread over the visible GPUs
};

// Device index of the rank, or -1 for "cpu, touch no GPU":
// - world_size > 1: rank 0 is the coordinator and gets -1 (it needs no GPU, so its visible
//   count is not checked); a worker gets its index among the node's ranks other than rank 0,
//   modulo visible_gpus (round robin: every GPU gets a worker before any gets a second);
// - world_size == 1: the one process coordinates and works, and gets GPU 0;
// - fixed_device >= 0: every worker (or the single process) gets that index.
// Throws DistError, with the arithmetic, when visible_gpus < 1, fixed_device >= visible_gpus or
// the input is inconsistent (rank missing from node_ranks, node_ranks not ascending, ...).
int map_device(const DeviceMapInput& in);

// Ranks of the node that compute: node_ranks without rank 0 when world_size > 1.
int node_workers(const DeviceMapInput& in);

// True when the node has more workers than GPUs in use (visible_gpus, or 1 with a fixed
// device), so map_device gives some GPU two or more workers: allowed, only slower and with a
// model copy per worker; the caller warns once. Counts only: it assumes the node's ranks see
// the same GPUs (mpirun, srun --gpus-per-node). Where each rank sees its own GPU as cuda:0
// (srun --gpus-per-task=1) the ranks share nothing and the caller must not warn.
bool node_oversubscribed(const DeviceMapInput& in);

}  // namespace crammer
