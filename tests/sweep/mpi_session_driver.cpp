// Driver of tests/sweep/mpi_session_test.py: MPI's lifetime through sweep/mpi_session.hpp.
// usage: mpi_session_driver ok|config|crash|stall OUT. Every rank runs gather_hosts, then a
// coordinator_step that succeeds (ok, stall) or throws on rank 0 a ConfigError (config) or a
// std::runtime_error (crash). In stall, rank 1 stops itself (SIGSTOP) before finalize, as a rank
// that never joins the final fence: rank 0's finalize must give up and exit. Each rank that gets past the step writes OUT.rank<R> with its code;
// rank 0 prints "hosts=<h1,h2,...>". An exception that leaves run_with_mpi is printed as
// "caught: <what>" and gives the exit code of its kind.
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "crammer/sweep/context.hpp"
#include "crammer/sweep/mpi_session.hpp"
#include "crammer/util/error.hpp"

int main(int argc, char** argv) {
  using namespace crammer;
  if (argc != 3) {
    std::fprintf(stderr, "usage: mpi_session_driver ok|config|crash|stall OUT\n");
    return 2;
  }
  const std::string mode = argv[1], out = argv[2];
  try {
    return run_with_mpi("mpi_session_driver", nullptr, [&] {
      DistContext ctx = make_dist_context();
      const auto hosts = gather_hosts(ctx);
      const int code = coordinator_step(ctx, [&] {
        if (mode == "config") throw ConfigError("plan failed on purpose");
        if (mode == "crash") throw std::runtime_error("crashed on purpose");
      });
      if (FILE* f = std::fopen((out + ".rank" + std::to_string(ctx.rank)).c_str(), "w")) {
        std::fprintf(f, "%d\n", code);
        std::fclose(f);
      }
      if (ctx.coordinator()) {
        std::string joined;
        for (const auto& h : hosts) joined += (joined.empty() ? "" : ",") + h;
        std::printf("hosts=%s\n", joined.c_str());
      }
      if (mode == "stall" && ctx.rank == 1) std::raise(SIGSTOP);
      return mode == "stall" ? 3 : code;
    });
  } catch (const Error& e) {
    std::fprintf(stderr, "caught: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "caught: %s\n", e.what());
    return 1;
  }
}
