// Error text for failed MPI / NCCL / CUDA calls: one place builds "call, file:line, rank, host,
// library text" so every DistError reads the same.
#include "crammer/sweep/check.hpp"

#include <unistd.h>

#include <cstdio>

#include <mpi.h>

#include "crammer/util/error.hpp"

#if defined(CRAMMER_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif
#if defined(CRAMMER_WITH_NCCL)
#include <nccl.h>
#endif

namespace crammer {

std::string rank_and_host() {
  std::string rank = "?";
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    int r = -1;
    // Raw call on purpose: this runs while reporting an error and must not throw.
    if (MPI_Comm_rank(MPI_COMM_WORLD, &r) == MPI_SUCCESS) rank = std::to_string(r);
  }
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '?';
  return "rank " + rank + " (host " + host + ")";
}

void throw_dist_error(const char* library, const char* call, const char* file, int line,
                      const std::string& text) {
  throw DistError(std::string(library) + " call `" + call + "` failed at " + file + ":" +
                  std::to_string(line) + " on " + rank_and_host() + ": " + text);
}

void check_mpi(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) {
    std::snprintf(text, sizeof(text), "MPI error code %d", code);
  }
  throw_dist_error("MPI", call, file, line, text);
}

#if defined(CRAMMER_WITH_NCCL)
void check_nccl(int code, const char* call, const char* file, int line) {
  if (code == static_cast<int>(ncclSuccess)) return;
  throw_dist_error("NCCL", call, file, line,
                   ncclGetErrorString(static_cast<ncclResult_t>(code)));
}
#endif

#if defined(CRAMMER_WITH_CUDA)
void check_cuda(int code, const char* call, const char* file, int line) {
  if (code == static_cast<int>(cudaSuccess)) return;
  throw_dist_error("CUDA", call, file, line, cudaGetErrorString(static_cast<cudaError_t>(code)));
}
#endif

}  // namespace crammer
