// The rank -> device rule (sweep/device_map.hpp) on the layouts mpirun and srun make: ranks in
// blocks per node (rank 0, the coordinator, first on node 0), with every rank's device worked
// out as it would be on its own node. No MPI, no GPU.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "crammer/sweep/device_map.hpp"
#include "crammer/util/error.hpp"

using namespace crammer;

namespace {

// Ranks per node, consecutive from 0: block distribution ({9, 8} -> [0..8], [9..16]).
std::vector<std::vector<int>> block_layout(const std::vector<int>& per_node) {
  std::vector<std::vector<int>> nodes;
  int next = 0;
  for (int n : per_node) {
    nodes.emplace_back();
    for (int i = 0; i < n; ++i) nodes.back().push_back(next++);
  }
  return nodes;
}

int world_size(const std::vector<std::vector<int>>& nodes) {
  int n = 0;
  for (const auto& node : nodes) n += static_cast<int>(node.size());
  return n;
}

DeviceMapInput input(const std::vector<std::vector<int>>& nodes, int node, int rank, int visible, int fixed = -1) {
  DeviceMapInput in;
  in.rank = rank;
  in.world_size = world_size(nodes);
  in.node_ranks = nodes[static_cast<size_t>(node)];
  in.visible_gpus = visible;
  in.fixed_device = fixed;
  return in;
}

// device[node][rank] for every rank of the layout.
std::vector<std::map<int, int>> devices(const std::vector<std::vector<int>>& nodes, int visible, int fixed = -1) {
  std::vector<std::map<int, int>> out(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int r : nodes[n]) out[n][r] = map_device(input(nodes, static_cast<int>(n), r, visible, fixed));
  return out;
}

// How many workers each GPU of a node got.
std::vector<int> per_gpu(const std::map<int, int>& node_devices, int gpus) {
  std::vector<int> count(static_cast<size_t>(gpus), 0);
  for (auto [rank, d] : node_devices) {
    if (d < 0) continue;
    EXPECT_LT(d, gpus) << "rank " << rank;
    if (d < gpus) ++count[static_cast<size_t>(d)];
  }
  return count;
}

std::string error_of(const DeviceMapInput& in) {
  try {
    map_device(in);
  } catch (const DistError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// The layout `crammer submit` renders: G + 1 ranks on node 0 (coordinator + G workers), G on
// each other node. Every GPU of every node runs exactly one worker; rank 0 runs none.
TEST(DeviceMap, OneWorkerPerGpuOnEveryNode) {
  for (int gpus : {1, 2, 4, 8}) {
    for (int n_nodes : {1, 2, 3}) {
      std::vector<int> per_node(static_cast<size_t>(n_nodes), gpus);
      per_node[0] += 1;
      auto nodes = block_layout(per_node);
      auto dev = devices(nodes, gpus);
      SCOPED_TRACE(std::to_string(n_nodes) + " node(s) x " + std::to_string(gpus) + " GPU(s)");
      EXPECT_EQ(dev[0].at(0), -1);
      for (size_t n = 0; n < nodes.size(); ++n) {
        EXPECT_EQ(per_gpu(dev[n], gpus), std::vector<int>(static_cast<size_t>(gpus), 1)) << "node " << n;
        auto in = input(nodes, static_cast<int>(n), nodes[n].back(), gpus);
        EXPECT_EQ(node_workers(in), gpus);
        EXPECT_FALSE(node_oversubscribed(in));
      }
      // Workers in rank order take GPUs in order: node 0's rank r gets r - 1.
      for (int r = 1; r <= gpus; ++r) EXPECT_EQ(dev[0].at(r), r - 1);
    }
  }
}

// More workers than GPUs: round robin, every GPU used before any is reused, so the counts per
// GPU differ by at most one and the first GPUs carry the extra.
TEST(DeviceMap, RoundRobinWhenWorkersAreNotAMultipleOfTheGpus) {
  for (int gpus : {1, 2, 4, 8}) {
    for (int workers = 1; workers <= 2 * gpus + 3; ++workers) {
      for (int n_nodes : {1, 2, 3}) {
        std::vector<int> per_node(static_cast<size_t>(n_nodes), workers);
        per_node[0] += 1;
        auto nodes = block_layout(per_node);
        auto dev = devices(nodes, gpus);
        SCOPED_TRACE(std::to_string(n_nodes) + " node(s), " + std::to_string(workers) + " worker(s) per node, " +
                     std::to_string(gpus) + " GPU(s)");
        EXPECT_EQ(dev[0].at(0), -1);
        for (size_t n = 0; n < nodes.size(); ++n) {
          std::vector<int> want(static_cast<size_t>(gpus));
          for (int g = 0; g < gpus; ++g) want[static_cast<size_t>(g)] = workers / gpus + (g < workers % gpus ? 1 : 0);
          EXPECT_EQ(per_gpu(dev[n], gpus), want) << "node " << n;
          // The first min(workers, gpus) workers of the node are on distinct GPUs.
          const auto& ranks = nodes[n];
          size_t first = n == 0 ? 1 : 0;
          for (int i = 0; i < workers; ++i) EXPECT_EQ(dev[n].at(ranks[first + static_cast<size_t>(i)]), i % gpus);
          EXPECT_EQ(node_oversubscribed(input(nodes, static_cast<int>(n), ranks.back(), gpus)), workers > gpus);
        }
      }
    }
  }
}

TEST(DeviceMap, RoundRobinExample) {
  // mpirun -np 7 on one 4-GPU node: rank 0 cpu, ranks 1..6 -> 0 1 2 3 0 1.
  auto nodes = block_layout({7});
  auto dev = devices(nodes, 4);
  std::vector<int> got;
  for (auto [rank, d] : dev[0]) got.push_back(d);
  EXPECT_EQ(got, (std::vector<int>{-1, 0, 1, 2, 3, 0, 1}));
  // And on the next node (no coordinator there) the count starts at 0 again.
  nodes = block_layout({5, 5});
  dev = devices(nodes, 4);
  EXPECT_EQ(dev[1].at(5), 0);
  EXPECT_EQ(dev[1].at(9), 0);
  EXPECT_TRUE(node_oversubscribed(input(nodes, 1, 9, 4)));
  EXPECT_FALSE(node_oversubscribed(input(nodes, 0, 4, 4)));
}

TEST(DeviceMap, CoordinatorNeverGetsAGpu) {
  auto nodes = block_layout({3, 2});
  EXPECT_EQ(map_device(input(nodes, 0, 0, 8)), -1);
  EXPECT_EQ(map_device(input(nodes, 0, 0, 8, 5)), -1);  // not even a fixed one
  EXPECT_EQ(map_device(input(nodes, 0, 0, 0)), -1);     // and it needs none to see
  EXPECT_EQ(map_device(input(nodes, 0, 0, 2, 7)), -1);  // nor a valid cuda:N
  // A node that holds only the coordinator has no workers.
  nodes = block_layout({1, 4});
  EXPECT_EQ(node_workers(input(nodes, 0, 0, 4)), 0);
  EXPECT_FALSE(node_oversubscribed(input(nodes, 0, 0, 4)));
}

TEST(DeviceMap, SingleProcessIsCoordinatorAndWorker) {
  auto nodes = block_layout({1});
  EXPECT_EQ(map_device(input(nodes, 0, 0, 1)), 0);
  EXPECT_EQ(map_device(input(nodes, 0, 0, 8)), 0);
  EXPECT_EQ(map_device(input(nodes, 0, 0, 8, 3)), 3);
  EXPECT_EQ(node_workers(input(nodes, 0, 0, 8)), 1);
  EXPECT_FALSE(node_oversubscribed(input(nodes, 0, 0, 1)));
}

// srun --gpus-per-task=1 (or a wrapper setting CUDA_VISIBLE_DEVICES per rank): each process
// sees one GPU, its own, as device 0.
TEST(DeviceMap, OneVisibleGpuPerTask) {
  auto nodes = block_layout({5, 4});
  auto dev = devices(nodes, 1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (auto [rank, d] : dev[n]) EXPECT_EQ(d, rank == 0 ? -1 : 0) << "rank " << rank;
  // Visible counts restricted to 2 of a node's GPUs per task: indices stay below 2.
  dev = devices(nodes, 2);
  EXPECT_EQ(per_gpu(dev[0], 2), (std::vector<int>{2, 2}));
  EXPECT_EQ(per_gpu(dev[1], 2), (std::vector<int>{2, 2}));
}

TEST(DeviceMap, FixedDeviceForEveryWorker) {
  auto nodes = block_layout({4, 3});
  auto dev = devices(nodes, 4, 2);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (auto [rank, d] : dev[n]) EXPECT_EQ(d, rank == 0 ? -1 : 2) << "rank " << rank;
  // Three workers on the one fixed GPU share it; one worker alone does not.
  EXPECT_TRUE(node_oversubscribed(input(nodes, 1, 5, 4, 2)));
  EXPECT_FALSE(node_oversubscribed(input(block_layout({2}), 0, 1, 4, 2)));
}

TEST(DeviceMap, ErrorsShowTheArithmetic) {
  auto nodes = block_layout({3});
  std::string e = error_of(input(nodes, 0, 1, 0));
  EXPECT_NE(e.find("rank 1 of 3"), std::string::npos) << e;
  EXPECT_NE(e.find("sees 0 GPU(s)"), std::string::npos) << e;
  EXPECT_NE(e.find("CUDA_VISIBLE_DEVICES"), std::string::npos) << e;
  e = error_of(input(block_layout({1}), 0, 0, 0));  // a single process needs one too
  EXPECT_NE(e.find("sees 0 GPU(s)"), std::string::npos) << e;

  e = error_of(input(nodes, 0, 2, 2, 2));
  EXPECT_NE(e.find("cuda:2 but this process sees 2 GPU(s): cuda:0..cuda:1"), std::string::npos) << e;
  e = error_of(input(block_layout({1}), 0, 0, 4, 4));
  EXPECT_NE(e.find("cuda:4 but this process sees 4 GPU(s)"), std::string::npos) << e;

  // Inconsistent input is a bug of the caller, said plainly.
  DeviceMapInput in = input(nodes, 0, 1, 2);
  in.node_ranks = {0, 2};
  EXPECT_NE(error_of(in).find("not among its node's ranks [0, 2]"), std::string::npos) << error_of(in);
  in.node_ranks = {2, 1, 0};
  EXPECT_NE(error_of(in).find("not strictly ascending"), std::string::npos) << error_of(in);
  in.node_ranks = {0, 1, 5};
  EXPECT_NE(error_of(in).find("outside the world of 3"), std::string::npos) << error_of(in);
  in = input(nodes, 0, 3, 2);
  EXPECT_NE(error_of(in).find("rank outside the world of 3"), std::string::npos) << error_of(in);
}
