// MPI set-up, teardown, abort and the coordinator's checked broadcast of success (see header).
#include "crammer/sweep/mpi_session.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>

#include "crammer/sweep/check.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

constexpr int kHostWidth = 256;

// An error every rank has learnt through coordinator_step: no rank waits for another, so the job
// ends with a normal finalize (MPI_Abort here raced Open MPI's own teardown: mpiexec crashed).
struct KnownToAllRanks {
  std::exception_ptr error;
};

// Exit code of the exception in flight: Error knows its own; anything else is a failure (1).
int exit_code_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.exit_code();
  } catch (...) {
    return 1;
  }
}

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// kFinalizeLimitSeconds, or CRAMMER_FINALIZE_SECONDS when it is a positive number.
double finalize_limit_seconds() {
  const char* text = std::getenv("CRAMMER_FINALIZE_SECONDS");
  if (text == nullptr || *text == '\0') return kFinalizeLimitSeconds;
  char* end = nullptr;
  const double s = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(s > 0)) {
    std::fprintf(stderr, "CRAMMER_FINALIZE_SECONDS='%s' is not a positive number of seconds; using %.0f\n", text,
                 kFinalizeLimitSeconds);
    return kFinalizeLimitSeconds;
  }
  return s;
}

}  // namespace

int finalize_world(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::mutex mutex;
  std::condition_variable returned;
  bool done = false;
  const double limit = finalize_limit_seconds();
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (returned.wait_for(lock, std::chrono::duration<double>(limit), [&] { return done; })) return;
    std::fprintf(stderr,
                 "MPI_Finalize did not return within %g s (a rank that died or stopped never joined "
                 "the runtime's final fence); exiting with code %d, everything was closed before\n",
                 limit, code);
    std::fflush(stderr);
    std::_Exit(code);
  });
  const int result = MPI_Finalize();
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  returned.notify_one();
  watchdog.join();
  return result;
}

int world_rank() {
  int rank = 0;
  CRAMMER_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  return rank;
}

int world_size() {
  int size = 1;
  CRAMMER_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  return size;
}

void abort_world(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);  // does not return on success; nothing sensible is left otherwise
  std::_Exit(code);
}

int run_with_mpi(const char* command, const std::function<void()>& after_init, const std::function<int()>& body) {
  int initialized = 0;
  CRAMMER_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    CRAMMER_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
  }
  if (after_init) after_init();
  const int size = world_size();
  int code = 0;
  try {
    code = body();
  } catch (const KnownToAllRanks& known) {
    std::cerr << command << ": error: " << what_of(known.error) << "\n";
    const int known_code = exit_code_of(known.error);
    CRAMMER_MPI_CHECK(finalize_world(known_code));
    return known_code;
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    if (size > 1) {
      // Report once here, then take every rank down so none waits forever.
      std::cerr << command << ": error: " << what_of(error) << "\n";
      abort_world(exit_code_of(error));
    }
    finalize_world(exit_code_of(error));  // unchecked: an error is already on its way out
    throw;
  }
  CRAMMER_MPI_CHECK(finalize_world(code));
  return code;
}

int coordinator_step(const DistContext& ctx, const std::function<void()>& work) {
  std::exception_ptr error;
  int code = 0;
  if (ctx.coordinator()) {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
      code = exit_code_of(error);
    }
  }
  CRAMMER_MPI_CHECK(MPI_Bcast(&code, 1, MPI_INT, 0, ctx.world));
  if (error && ctx.size > 1) throw KnownToAllRanks{error};  // run_with_mpi reports it, then finalizes
  if (error) std::rethrow_exception(error);
  return code;
}

std::vector<std::string> gather_hosts(const DistContext& ctx) {
  char name[kHostWidth] = {};
  std::snprintf(name, sizeof name, "%s", ctx.host.c_str());
  std::vector<char> all(ctx.coordinator() ? static_cast<size_t>(kHostWidth) * ctx.size : 1);
  CRAMMER_MPI_CHECK(MPI_Gather(name, kHostWidth, MPI_CHAR, all.data(), kHostWidth, MPI_CHAR, 0, ctx.world));
  std::vector<std::string> hosts;
  if (ctx.coordinator()) {
    for (int r = 0; r < ctx.size; ++r) {
      std::string h(all.data() + static_cast<size_t>(kHostWidth) * r);
      if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
    }
  }
  return hosts;
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);  // allowed before MPI_Init
  std::string version(text, static_cast<size_t>(len));
  if (auto end = version.find_first_of(",\n"); end != std::string::npos) version = version.substr(0, end);
  return version;
}

}  // namespace crammer
