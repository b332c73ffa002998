// Builds the DistContext: communicators, node-local rank, host, the node's ranks and the
// device (sweep/device_map.hpp decides, this file binds).
#include "crammer/sweep/context.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "crammer/sweep/check.hpp"
#include "crammer/sweep/device_map.hpp"
#include "crammer/util/error.hpp"

#if defined(CRAMMER_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace crammer {

DistContext::DistContext(DistContext&& o) noexcept { *this = std::move(o); }

DistContext& DistContext::operator=(DistContext&& o) noexcept {
  if (this == &o) return *this;
  rank = o.rank;
  size = o.size;
  local_rank = o.local_rank;
  local_size = o.local_size;
  host = std::move(o.host);
  node_ranks = std::move(o.node_ranks);
  device = std::move(o.device);
  device_index = o.device_index;
  std::swap(world, o.world);
  std::swap(node, o.node);
  return *this;
}

DistContext::~DistContext() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // freeing after MPI_Finalize is an error; the library already did
  // Raw calls: errors here cannot be reported usefully and must not throw.
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  if (world != MPI_COMM_NULL) MPI_Comm_free(&world);
}

DeviceMapInput device_map_input(const DistContext& ctx, const DistOptions& options) {
  DeviceMapInput in;
  in.rank = ctx.rank;
  in.world_size = ctx.size;
  in.node_ranks = ctx.node_ranks;
  in.visible_gpus = options.visible_gpus;
  in.fixed_device = options.fixed_device;
  return in;
}

DistContext make_dist_context(const DistOptions& options) {
  int initialized = 0;
  CRAMMER_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) throw DistError("make_dist_context: MPI_Init has not been called");

  DistContext ctx;
  CRAMMER_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &ctx.world));
  CRAMMER_MPI_CHECK(MPI_Comm_set_errhandler(ctx.world, MPI_ERRORS_RETURN));
  CRAMMER_MPI_CHECK(MPI_Comm_rank(ctx.world, &ctx.rank));
  CRAMMER_MPI_CHECK(MPI_Comm_size(ctx.world, &ctx.size));
  CRAMMER_MPI_CHECK(
      MPI_Comm_split_type(ctx.world, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &ctx.node));
  CRAMMER_MPI_CHECK(MPI_Comm_set_errhandler(ctx.node, MPI_ERRORS_RETURN));
  CRAMMER_MPI_CHECK(MPI_Comm_rank(ctx.node, &ctx.local_rank));
  CRAMMER_MPI_CHECK(MPI_Comm_size(ctx.node, &ctx.local_size));

  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int len = 0;
  CRAMMER_MPI_CHECK(MPI_Get_processor_name(name, &len));
  ctx.host.assign(name, static_cast<size_t>(len));

  // The node's world ranks in order (the node communicator was split with key = world rank).
  ctx.node_ranks.resize(static_cast<size_t>(ctx.local_size));
  CRAMMER_MPI_CHECK(MPI_Allgather(&ctx.rank, 1, MPI_INT, ctx.node_ranks.data(), 1, MPI_INT, ctx.node));
  std::sort(ctx.node_ranks.begin(), ctx.node_ranks.end());

  if (options.use_cuda) {
    const DeviceMapInput in = device_map_input(ctx, options);
    try {
      ctx.device_index = map_device(in);
    } catch (const DistError& e) {
      throw DistError("host " + ctx.host + ", " + e.what());  // which node lacks the GPU
    }
  }
  if (ctx.device_index >= 0) {
    ctx.device = "cuda:" + std::to_string(ctx.device_index);
    // Bind this rank to its GPU before anything (LibTorch, NCCL) allocates on the device; a
    // CUDA 12 runtime creates the device's context here.
    bind_device(ctx);
  }
  return ctx;
}

void bind_device(const DistContext& ctx) {
#if defined(CRAMMER_WITH_CUDA)
  if (ctx.device_index >= 0) CRAMMER_CUDA_CHECK(cudaSetDevice(ctx.device_index));
#else
  (void)ctx;
#endif
}

int threads_per_rank(int configured, int local_size, int node_cores) {
  if (configured > 0) return configured;
  if (node_cores <= 0) node_cores = static_cast<int>(std::thread::hardware_concurrency());
  if (node_cores <= 0) node_cores = 1;  // hardware_concurrency may not know
  return std::max(1, node_cores / std::max(1, local_size));
}

}  // namespace crammer
