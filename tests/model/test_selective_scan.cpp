// Mamba's two selective scans give the same numbers: the chunked scan (cumulative sums of
// dt * A within each chunk) against the sequential recurrence, for chunk sizes that do and do not
// divide the length, from a zero and from a carried state, in f32 and bf16; and both against the
// recurrence written out per channel here. Not for: the Mamba network (test_architectures.cpp).
#include <gtest/gtest.h>

#include <cstdio>

#include "crammer/model/selective_scan.hpp"

namespace crammer {
namespace {

using torch::Tensor;

struct Inputs {
  Tensor x, dt, A, B, C, h0;
};

// dt up to ~3 and A down to -8: decays from ~1 to far below f32's smallest normal within a chunk.
Inputs inputs(int64_t Bn, int64_t T, int64_t E, int64_t N, torch::Dtype dtype, uint64_t seed) {
  torch::manual_seed(seed);
  Inputs in;
  in.x = torch::randn({Bn, T, E}).to(dtype);
  in.dt = at::softplus(torch::randn({Bn, T, E}) * 1.5);
  in.A = -torch::rand({E, N}) * 8 - 0.01;
  in.B = torch::randn({Bn, T, N}).to(dtype);
  in.C = torch::randn({Bn, T, N}).to(dtype);
  in.h0 = torch::randn({Bn, E, N});
  return in;
}

double rel(const Tensor& a, const Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max()).item<double>();
}

TEST(SelectiveScan, SequentialMatchesTheRecurrenceWrittenOut) {
  Inputs in = inputs(2, 7, 3, 4, torch::kFloat64, 1);
  ScanResult r = selective_scan_sequential(in.x, in.dt, in.A, in.B, in.C, in.h0);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t e = 0; e < 3; ++e) {
      std::vector<double> h(4);
      for (int64_t n = 0; n < 4; ++n) h[n] = in.h0[b][e][n].item<double>();
      for (int64_t t = 0; t < 7; ++t) {
        const double d = in.dt[b][t][e].item<double>(), u = in.x[b][t][e].item<double>();
        double y = 0;
        for (int64_t n = 0; n < 4; ++n) {
          h[n] = std::exp(d * in.A[e][n].item<double>()) * h[n] + d * in.B[b][t][n].item<double>() * u;
          y += h[n] * in.C[b][t][n].item<double>();
        }
        EXPECT_NEAR(r.y[b][t][e].item<double>(), y, 1e-5 * std::max(1.0, std::abs(y)));
      }
      for (int64_t n = 0; n < 4; ++n) EXPECT_NEAR(r.state[b][e][n].item<double>(), h[n], 1e-5);
    }
}

TEST(SelectiveScan, ChunkedEqualsSequential) {
  for (int64_t chunk : {1, 4, 16, 100}) {
    for (bool carried : {false, true}) {
      Inputs in = inputs(3, 37, 24, 8, torch::kFloat32, 2);
      Tensor h0 = carried ? in.h0 : Tensor();
      ScanResult seq = selective_scan_sequential(in.x, in.dt, in.A, in.B, in.C, h0);
      ScanResult chk = selective_scan_chunked(in.x, in.dt, in.A, in.B, in.C, h0, chunk);
      const double ey = rel(chk.y, seq.y), eh = rel(chk.state, seq.state);
      std::printf("chunk %3lld, %s state: y %.3g, final state %.3g\n", static_cast<long long>(chunk),
                  carried ? "carried" : "zero", ey, eh);
      EXPECT_LT(ey, 1e-5);
      EXPECT_LT(eh, 1e-5);
      EXPECT_EQ(chk.y.scalar_type(), torch::kFloat32);
    }
  }
}

// bf16: the state stays f32 and y is rounded once, as transformers rounds it.
TEST(SelectiveScan, ChunkedEqualsSequentialInBf16) {
  Inputs in = inputs(2, 29, 16, 8, torch::kBFloat16, 3);
  ScanResult seq = selective_scan_sequential(in.x, in.dt, in.A, in.B, in.C, in.h0);
  ScanResult chk = selective_scan_chunked(in.x, in.dt, in.A, in.B, in.C, in.h0, 8);
  EXPECT_EQ(chk.y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(chk.state.scalar_type(), torch::kFloat32);
  EXPECT_LT(rel(chk.state, seq.state), 1e-5);
  EXPECT_LT(rel(chk.y, seq.y), 1e-2);  // one bf16 rounding of y, rarely at a tie
}

// Scanning in two pieces, the second from the first's final state, equals one scan (what the
// cached decode relies on).
TEST(SelectiveScan, SplitAtAnyPointEqualsWhole) {
  Inputs in = inputs(2, 20, 8, 4, torch::kFloat32, 4);
  ScanResult whole = selective_scan_chunked(in.x, in.dt, in.A, in.B, in.C, Tensor(), 16);
  for (int64_t cut : {1, 9, 19}) {
    auto part = [&](const Tensor& t, int64_t a, int64_t n) { return t.narrow(1, a, n); };
    ScanResult first = selective_scan_chunked(part(in.x, 0, cut), part(in.dt, 0, cut), in.A, part(in.B, 0, cut),
                                              part(in.C, 0, cut), Tensor(), 16);
    const int64_t rest = 20 - cut;
    ScanResult second = selective_scan_chunked(part(in.x, cut, rest), part(in.dt, cut, rest), in.A,
                                               part(in.B, cut, rest), part(in.C, cut, rest), first.state, 16);
    EXPECT_LT(rel(torch::cat({first.y, second.y}, 1), whole.y), 1e-5) << "cut " << cut;
    EXPECT_LT(rel(second.state, whole.state), 1e-5) << "cut " << cut;
  }
}

}  // namespace
}  // namespace crammer
