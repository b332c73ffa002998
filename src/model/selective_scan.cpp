// Mamba's selective scan (selective_scan.hpp): the sequential recurrence and the chunked scan.
#include "crammer/model/selective_scan.hpp"

#include <algorithm>
#include <cmath>

namespace crammer {
namespace {

// y = <h, C> with h rounded to the compute dtype first, summed in f32, rounded back: what
// transformers' per-step `ssm_state.to(dtype) @ C` gives. h [..., N] f32, C [..., N].
torch::Tensor read_out(const torch::Tensor& h, const torch::Tensor& C, torch::Dtype dtype) {
  return (h.to(dtype).to(torch::kFloat32) * C.to(torch::kFloat32)).sum(-1).to(dtype);
}

torch::Tensor initial_state(const torch::Tensor& x, const torch::Tensor& A, const torch::Tensor& h0) {
  if (h0.defined()) return h0.to(torch::kFloat32);
  return torch::zeros({x.size(0), A.size(0), A.size(1)}, x.options().dtype(torch::kFloat32));
}

}  // namespace

ScanResult selective_scan_sequential(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                     const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& h0) {
  const int64_t T = x.size(1);
  torch::Tensor h = initial_state(x, A, h0);                           // [B, E, N]
  torch::Tensor B32 = Bm.to(torch::kFloat32), x32 = x.to(torch::kFloat32);
  std::vector<torch::Tensor> ys;
  for (int64_t t = 0; t < T; ++t) {
    torch::Tensor d = dt.select(1, t).unsqueeze(-1);                   // [B, E, 1]
    torch::Tensor dA = at::exp(d * A);                                 // [B, E, N]
    torch::Tensor dBx = d * B32.select(1, t).unsqueeze(1) * x32.select(1, t).unsqueeze(-1);  // [B, E, N]
    h = dA * h + dBx;
    ys.push_back(read_out(h, Cm.select(1, t).unsqueeze(1), x.scalar_type()));  // [B, E]
  }
  return {torch::stack(ys, 1), h};
}

ScanResult selective_scan_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                  const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& h0,
                                  int64_t chunk) {
  const int64_t T = x.size(1);
  chunk = std::max<int64_t>(1, chunk);
  torch::Tensor h = initial_state(x, A, h0);  // [B, E, N]
  std::vector<torch::Tensor> ys;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t L = std::min(chunk, T - t0);
    torch::Tensor d = dt.narrow(1, t0, L).unsqueeze(-1);                         // [B, L, E, 1]
    torch::Tensor S = (d * A).cumsum(1);                                         // [B, L, E, N], <= 0, falling
    torch::Tensor bx = d * Bm.narrow(1, t0, L).to(torch::kFloat32).unsqueeze(2) *
                       x.narrow(1, t0, L).to(torch::kFloat32).unsqueeze(-1);     // [B, L, E, N]
    // h_t = exp(S_t) h + sum_{s <= t} exp(S_t - S_s) bx_s; every exponent <= 0 once s > t is masked.
    torch::Tensor diff = S.unsqueeze(2) - S.unsqueeze(1);                         // [B, t, s, E, N]
    torch::Tensor later = torch::ones({L, L}, x.options().dtype(torch::kBool)).triu(1).view({1, L, L, 1, 1});
    torch::Tensor decay = at::exp(diff.masked_fill(later, -INFINITY));            // [B, t, s, E, N]
    torch::Tensor hs = (decay * bx.unsqueeze(1)).sum(2) + at::exp(S) * h.unsqueeze(1);  // [B, L, E, N]
    ys.push_back(read_out(hs, Cm.narrow(1, t0, L).unsqueeze(2), x.scalar_type()));    // [B, L, E]
    h = hs.select(1, L - 1);
  }
  return {torch::cat(ys, 1), h};
}

}  // namespace crammer
