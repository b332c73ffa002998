// Mamba's selective scan, measured side by side in one run (docs/BENCHMARKS.md): the sequential
// recurrence against the chunked scan at several chunk sizes, forward and backward as cramming
// runs them (gradients to x, dt, B and C: they all depend on the [mem] vectors), for one layer of
// Mamba-130m's shape (E 1536, N 16) at a few lengths and batch sizes: seconds per forward+backward,
// the ratio to the sequential scan, and the peak resident memory each adds. Not a test: it prints
// figures; it fails only on a crash or when the two scans disagree.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crammer/model/selective_scan.hpp"
#include "peak_memory.hpp"

using namespace crammer;

namespace {

using Clock = std::chrono::steady_clock;

struct Inputs {
  torch::Tensor x, dt, A, Bm, Cm;
};

Inputs inputs(int64_t B, int64_t T, int64_t E, int64_t N) {
  torch::manual_seed(1);
  Inputs in;
  in.x = torch::randn({B, T, E}).requires_grad_(true);
  in.dt = torch::softplus(torch::randn({B, T, E}) - 4).detach().requires_grad_(true);  // ~dt of a trained model
  in.A = -torch::arange(1, N + 1, torch::kFloat32).repeat({E, 1});                     // HF's init: -(1..N)
  in.Bm = torch::randn({B, T, N}).requires_grad_(true);
  in.Cm = torch::randn({B, T, N}).requires_grad_(true);
  return in;
}

// One forward + backward; chunk 0 = the sequential scan. Returns y for the equality check.
torch::Tensor step(const Inputs& in, int64_t chunk) {
  for (const auto& t : {in.x, in.dt, in.Bm, in.Cm}) t.mutable_grad() = torch::Tensor();
  ScanResult r = chunk == 0 ? selective_scan_sequential(in.x, in.dt, in.A, in.Bm, in.Cm, {})
                            : selective_scan_chunked(in.x, in.dt, in.A, in.Bm, in.Cm, {}, chunk);
  r.y.sum().backward();
  return r.y.detach();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  const int64_t E = 1536, N = 16;  // Mamba-130m: d 768, expand 2, state 16
  std::printf("crammer scan_bench: one Mamba-130m layer's scan (E %lld, N %lld), f32, %d threads, forward+backward\n",
              static_cast<long long>(E), static_cast<long long>(N), at::get_num_threads());
  std::printf("%6s %5s %8s %12s %10s %12s %14s\n", "length", "batch", "chunk", "s/step", "vs seq", "peak MiB",
              "max |y - seq|");
  const std::vector<int64_t> chunks = {0, 4, 8, 16, 32, 64};
  for (auto [T, B] : std::vector<std::pair<int64_t, int64_t>>{{128, 1}, {512, 1}, {512, 4}, {2048, 1}}) {
    Inputs in = inputs(B, T, E, N);
    torch::Tensor reference;
    double seq_seconds = 0;
    for (int64_t chunk : chunks) {
      if (T >= 2048 && chunk >= 32) continue;  // quadratic within a chunk: minutes per step here
      torch::Tensor y;
      const double peak = bench::peak_mib([&] { y = step(in, chunk); });
      const int reps = T * B >= 2048 ? 2 : 4;
      double best = 1e30;
      for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        step(in, chunk);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
      }
      if (chunk == 0) {
        reference = y;
        seq_seconds = best;
      }
      const double diff = (y - reference).abs().max().item<double>();
      std::printf("%6lld %5lld %8s %12.4f %9.2fx %12.1f %14.2e\n", static_cast<long long>(T),
                  static_cast<long long>(B), chunk == 0 ? "seq" : std::to_string(chunk).c_str(), best,
                  seq_seconds / best, peak, diff);
      std::fflush(stdout);
      if (diff > 1e-3) {
        std::fprintf(stderr, "scan_bench: chunk %lld disagrees with the sequential scan by %g\n",
                     static_cast<long long>(chunk), diff);
        return 1;
      }
    }
  }
  return 0;
}
