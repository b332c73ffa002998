// Stand-in for `crammer run` in the Slurm tests: the same process contract (an MPI world from
// `srun --mpi=pmix`, argv `run CONFIG [a.b=v ...]`, exit 0 when done, exit 75 after USR1 / USR2
// / TERM) without a sweep, so the batch script's wiring (ranks, quoting, signal forwarding,
// requeue) is tested on its own. Not a model of crammer's work: tests/slurm/slurm_tests.py
// runs the real crammer for that.
//
// Environment: PROBE_LOG  file rank 0 appends one line per event to (start, layout, stopped,
//                         done);
//              PROBE_HOLD seconds to wait for a stop signal on the first start (restart 0);
//              PROBE_EXPECT_SIZE  exit 3 unless the MPI world has this many ranks.
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int s) { g_signal = s; }

#define MPI_CHECK(call)                                                                 \
  do {                                                                                  \
    int rc_ = (call);                                                                   \
    if (rc_ != MPI_SUCCESS) {                                                           \
      char msg_[MPI_MAX_ERROR_STRING];                                                  \
      int len_ = 0;                                                                     \
      MPI_Error_string(rc_, msg_, &len_);                                               \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, msg_); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGUSR1, on_signal);
  std::signal(SIGUSR2, on_signal);
  std::signal(SIGTERM, on_signal);
  MPI_CHECK(MPI_Init(&argc, &argv));
  int rank = 0, size = 0;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  char host[256] = {0};
  gethostname(host, sizeof host - 1);

  // Every rank must see the same world: the sum of ranks is size*(size-1)/2 only then.
  long mine = rank, sum = 0;
  MPI_CHECK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD));
  std::printf("probe: rank %d of %d on %s (rank sum %ld)\n", rank, size, host, sum);
  std::fflush(stdout);
  if (sum != static_cast<long>(size) * (size - 1) / 2) {
    std::fprintf(stderr, "probe: rank sum %ld != %d*%d/2: ranks do not share one world\n", sum, size, size - 1);
    return 3;
  }
  std::string expect = env_or("PROBE_EXPECT_SIZE", "");
  if (!expect.empty() && std::stoi(expect) != size) {
    std::fprintf(stderr, "probe: world size %d, expected %s (PROBE_EXPECT_SIZE)\n", size, expect.c_str());
    return 3;
  }

  const std::string log_path = env_or("PROBE_LOG", "");
  const int restart = std::stoi(env_or("SLURM_RESTART_COUNT", "0"));
  auto log = [&](const std::string& line) {
    if (rank != 0 || log_path.empty()) return;
    std::ofstream f(log_path, std::ios::app);
    f << line << "\n";
  };
  std::string args;
  for (int i = 1; i < argc; ++i) args += std::string(i > 1 ? "|" : "") + argv[i];
  log("start size=" + std::to_string(size) + " restart=" + std::to_string(restart) + " args=" + args);

  // Which Slurm node each rank runs on, in rank order (the rank layout srun chose).
  char node[64] = {0};
  std::snprintf(node, sizeof node, "%s", env_or("SLURMD_NODENAME", host).c_str());
  std::vector<char> nodes(sizeof node * static_cast<size_t>(size));
  MPI_CHECK(MPI_Gather(node, sizeof node, MPI_CHAR, nodes.data(), sizeof node, MPI_CHAR, 0, MPI_COMM_WORLD));
  std::string layout;
  for (int r = 0; r < size; ++r) layout += std::string(r ? "," : "") + std::string(&nodes[sizeof node * r]);
  log("layout " + layout);

  const double hold = std::stod(env_or("PROBE_HOLD", "0"));
  if (restart == 0 && hold > 0) {
    auto t0 = std::chrono::steady_clock::now();
    while (!g_signal && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < hold) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (g_signal) {
    log("stopped signal=" + std::to_string(static_cast<int>(g_signal)));
    MPI_Finalize();
    return 75;
  }
  MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  log("done");
  MPI_Finalize();
  return 0;
}
