// The rank -> device rule of docs/distributed.md ("Devices"): coordinator on the CPU, workers
// round robin over the node's visible GPUs. Pure: no MPI, no CUDA (make_dist_context gathers
// the inputs and binds the result).
#include "crammer/sweep/device_map.hpp"

#include <algorithm>
#include <string>

#include "crammer/util/error.hpp"

namespace crammer {
namespace {

std::string ranks_text(const std::vector<int>& ranks) {
  std::string s = "[";
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s + "]";
}

void check_input(const DeviceMapInput& in) {
  const std::string where = "device map of rank " + std::to_string(in.rank) + ": ";
  if (in.world_size < 1 || in.rank < 0 || in.rank >= in.world_size)
    throw DistError(where + "rank outside the world of " + std::to_string(in.world_size) + " rank(s)");
  if (!std::is_sorted(in.node_ranks.begin(), in.node_ranks.end()) ||
      std::adjacent_find(in.node_ranks.begin(), in.node_ranks.end()) != in.node_ranks.end())
    throw DistError(where + "node ranks " + ranks_text(in.node_ranks) + " are not strictly ascending");
  if (!std::binary_search(in.node_ranks.begin(), in.node_ranks.end(), in.rank))
    throw DistError(where + "the rank is not among its node's ranks " + ranks_text(in.node_ranks));
  if (in.node_ranks.front() < 0 || in.node_ranks.back() >= in.world_size)
    throw DistError(where + "node ranks " + ranks_text(in.node_ranks) + " outside the world of " +
                    std::to_string(in.world_size) + " rank(s)");
}

}  // namespace

int node_workers(const DeviceMapInput& in) {
  int n = static_cast<int>(in.node_ranks.size());
  // Rank 0 of a multi-rank run coordinates; it is on the node when it is the first of the list.
  if (in.world_size > 1 && !in.node_ranks.empty() && in.node_ranks.front() == 0) --n;
  return n;
}

int map_device(const DeviceMapInput& in) {
  check_input(in);
  if (in.world_size > 1 && in.rank == 0) return -1;  // the coordinator computes nothing

  const std::string where = "rank " + std::to_string(in.rank) + " of " + std::to_string(in.world_size) + ": ";
  if (in.visible_gpus < 1)
    throw DistError(where + "runtime.device is cuda but this process sees " + std::to_string(in.visible_gpus) +
                    " GPU(s) (LibTorch without CUDA, no driver, or CUDA_VISIBLE_DEVICES empty)");
  if (in.fixed_device >= in.visible_gpus)
    throw DistError(where + "runtime.device cuda:" + std::to_string(in.fixed_device) + " but this process sees " +
                    std::to_string(in.visible_gpus) + " GPU(s): cuda:0..cuda:" +
                    std::to_string(in.visible_gpus - 1) + " (CUDA_VISIBLE_DEVICES renumbers them from 0)");
  if (in.fixed_device >= 0) return in.fixed_device;

  // Index among the node's workers: the position in node_ranks, less one when the coordinator
  // (rank 0, always first) is on this node.
  auto pos = std::lower_bound(in.node_ranks.begin(), in.node_ranks.end(), in.rank) - in.node_ranks.begin();
  int worker_index = static_cast<int>(pos) - (in.world_size > 1 && in.node_ranks.front() == 0 ? 1 : 0);
  return worker_index % in.visible_gpus;
}

bool node_oversubscribed(const DeviceMapInput& in) {
  int gpus_in_use = in.fixed_device >= 0 ? 1 : in.visible_gpus;
  return gpus_in_use >= 1 && node_workers(in) > gpus_in_use;
}

}  // namespace crammer
