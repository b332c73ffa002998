// Test driver for the startup device check (tests/sweep/device_check_test.py): runs
// check_devices under `mpiexec -n N` with a plain C++ probe (the sweep layer is torch-free): the sum of
// ones(64,64) @ ones(64,64) in f32, 262144 exactly. --throw-on R makes rank R's probe throw,
// --wrong-on R makes it return one more. Every rank writes "<--out>.rank<R>": its exit code on
// the first line, then its error message. Exit codes as `crammer run`: 0 passed, 2 the check
// failed (every rank, no MPI_Abort), 1 anything else (MPI_Abort).
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "crammer/sweep/context.hpp"
#include "crammer/sweep/device_check.hpp"
#include "crammer/util/error.hpp"

using namespace crammer;

namespace {

// sum(A @ B) for A = B = ones(64, 64): every entry of the product is 64, 4096 entries.
double ones_matmul_sum() {
  constexpr int n = 64;
  std::vector<float> a(n * n, 1.0f), b(n * n, 1.0f), c(n * n, 0.0f);  // [64, 64] each
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < n; ++j) c[i * n + j] += a[i * n + k] * b[k * n + j];
  float sum = 0;
  for (float v : c) sum += v;
  return sum;
}

struct Args {
  std::string out;
  int throw_on = -1, wrong_on = -1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--out") a.out = v;
    else if (k == "--throw-on") a.throw_on = std::stoi(v);
    else if (k == "--wrong-on") a.wrong_on = std::stoi(v);
    else throw ConfigError("device_check_driver: unknown option " + k);
  }
  if (a.out.empty()) throw ConfigError("device_check_driver: --out is required");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int code = 0;
  bool abort_needed = false;
  std::string message, out;
  try {
    auto args = parse(argc, argv);
    out = args.out;
    auto ctx = make_dist_context();
    DeviceProbe probe;
    probe.what = "sum(ones(64,64) @ ones(64,64))";
    probe.expected = 262144;
    probe.run = [&] {
      if (ctx.rank == args.throw_on) throw std::runtime_error("synthetic device fault on rank " + std::to_string(ctx.rank));
      double v = ones_matmul_sum();
      return ctx.rank == args.wrong_on ? v + 1 : v;
    };
    DeviceCheckResult r = check_devices(ctx, probe);
    if (ctx.coordinator())
      std::printf("device check ok: workers=%d sum=%.17g transport=%s\n", r.workers, r.sum, r.transport.c_str());
  } catch (const DeviceCheckError& e) {
    message = e.what();
    code = e.exit_code();  // every rank knows: finalize normally
  } catch (const Error& e) {
    message = e.what();
    code = e.exit_code();
    abort_needed = true;
  } catch (const std::exception& e) {
    message = e.what();
    code = 1;
    abort_needed = true;
  }
  if (!message.empty()) std::fprintf(stderr, "device_check_driver rank %d: %s\n", rank, message.c_str());
  if (!out.empty()) {
    if (FILE* f = std::fopen((out + ".rank" + std::to_string(rank)).c_str(), "w")) {
      std::fprintf(f, "%d\n%s\n", code, message.c_str());
      std::fclose(f);
    }
  }
  if (abort_needed) MPI_Abort(MPI_COMM_WORLD, code);
  MPI_Finalize();
  return code;
}
