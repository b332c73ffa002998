// Checking wrappers for every MPI (and NCCL / CUDA) C call of crammer: a failing call throws
// DistError naming the call, file:line, rank, host and the library's own error text.
// Not a logger and not an abort: `main` catches the DistError and aborts MPI once.
#pragma once

#include <string>

namespace crammer {

// Throws DistError: "<library> call `<call>` failed at <file>:<line> on rank R (host H): <text>".
[[noreturn]] void throw_dist_error(const char* library, const char* call, const char* file,
                                   int line, const std::string& text);

// `code` is an MPI return code; MPI_SUCCESS returns, anything else throws with MPI_Error_string.
void check_mpi(int code, const char* call, const char* file, int line);

#if defined(CRAMMER_WITH_NCCL)
// `code` is an ncclResult_t cast to int.
void check_nccl(int code, const char* call, const char* file, int line);
#endif
#if defined(CRAMMER_WITH_CUDA)
// `code` is a cudaError_t cast to int.
void check_cuda(int code, const char* call, const char* file, int line);
#endif

// "rank R (host H)" of this process, usable before/after MPI is up (rank "?" then).
std::string rank_and_host();

}  // namespace crammer

#define CRAMMER_MPI_CHECK(call) ::crammer::check_mpi((call), #call, __FILE__, __LINE__)
#if defined(CRAMMER_WITH_NCCL)
#define CRAMMER_NCCL_CHECK(call) \
  ::crammer::check_nccl(static_cast<int>(call), #call, __FILE__, __LINE__)
#endif
#if defined(CRAMMER_WITH_CUDA)
#define CRAMMER_CUDA_CHECK(call) \
  ::crammer::check_cuda(static_cast<int>(call), #call, __FILE__, __LINE__)
#endif
