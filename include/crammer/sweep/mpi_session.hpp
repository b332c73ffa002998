// MPI's lifetime for one command, and the calls around the sweep that are not the sweep itself:
// init and finalize, the one way a rank takes the whole job down, a step only the coordinator
// runs whose success every rank must learn, and the hosts of the job. Every call is checked.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "crammer/sweep/context.hpp"

namespace crammer {

// Initialises MPI (thread level FUNNELED) unless it is up, runs `body`, finalizes. `after_init`
// runs once MPI is up (signal handlers must be installed after MPI_Init to be the ones that
// count). When `body` throws in a job of more than one rank, the error is printed once as
// "<command>: error: <text>" and every rank is taken down with the error's exit code, so none
// waits forever; in a one-rank job MPI is finalized and the exception propagates to `main`.
int run_with_mpi(const char* command, const std::function<void()>& after_init, const std::function<int()>& body);

// MPI_Finalize, bounded: Open MPI 4.1's finalize waits in a runtime fence for every rank, and
// after a rank died (a lost worker) that fence can wait forever although the job is over (seen
// about once in 25 runs under `mpirun --enable-recovery`). Everything worth keeping must be
// closed before the call: if finalize has not returned within kFinalizeLimitSeconds the process
// says so on stderr and exits with `code` (std::_Exit). Returns MPI_Finalize's result.
// The environment variable CRAMMER_FINALIZE_SECONDS (> 0) sets another limit. Ranks enter
// finalize together (release_workers / await_release in sweep/sweep.hpp), so the limit only
// bounds the wait for a rank that died.
constexpr double kFinalizeLimitSeconds = 30;
int finalize_world(int code);

// World rank and size; MPI must be up.
int world_rank();
int world_size();

// Ends every rank of the job with `code` (MPI_Abort on MPI_COMM_WORLD).
[[noreturn]] void abort_world(int code);

// Collective. Runs `work` on the coordinator only and tells every rank whether it threw.
// Returns 0 when it succeeded. When it threw an Error (or anything else): every other rank
// returns its exit code (2 for ConfigError, 1 otherwise) to stop quietly; the coordinator of a
// one-rank job rethrows the exception, that of a larger job throws it for run_with_mpi to print
// once and end with a normal finalize (every rank knows: nothing to abort).
int coordinator_step(const DistContext& ctx, const std::function<void()>& work);

// Collective. The distinct host names of the job in rank order at the coordinator; empty elsewhere.
std::vector<std::string> gather_hosts(const DistContext& ctx);

// "Open MPI v4.1.4": the MPI library's version line; callable without MPI being up.
std::string mpi_library_version();

}  // namespace crammer
