// Mamba's selective scan, h_t = exp(dt_t * A) h_{t-1} + dt_t * B_t * x_t, y_t = <h_t, C_t>, in
// two implementations that give the same numbers (tests/model/test_selective_scan.cpp): the
// sequential recurrence (the reference: transformers' slow path, one step per position) and a
// chunked scan that handles `chunk` positions per step with cumulative sums of dt * A. The
// state runs in f32 whatever the compute dtype; y is rounded as transformers rounds it.
#pragma once

#include <torch/types.h>

namespace crammer {

// The chunk the network runs: the fastest measured on CPU at cramming lengths (scan_bench:
// 0.97-2.0x the sequential scan's speed at about 2x its memory; 16 and more are slower, the
// work within a chunk growing with its square).
constexpr int64_t kScanChunk = 4;

struct ScanResult {
  torch::Tensor y;      // [B, T, E] in x's dtype: sum over N of h_t * C_t
  torch::Tensor state;  // [B, E, N] f32: h after the last position
};

// x [B, T, E] (compute dtype), dt [B, T, E] f32 (after softplus), A [E, N] f32 (negative),
// Bm, Cm [B, T, N] (compute dtype), h0 [B, E, N] f32 or undefined (zeros).
ScanResult selective_scan_sequential(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                     const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& h0);
ScanResult selective_scan_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                  const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& h0,
                                  int64_t chunk = kScanChunk);

}  // namespace crammer
