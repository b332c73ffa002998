// Causal attention for the architecture files, in two implementations that give the same
// numbers: the explicit softmax path and scaled_dot_product_attention (with enable_gqa: the
// reason crammer needs LibTorch >= 2.5). Which one runs is AttentionKernel
// (include/crammer/model/attention.hpp); `auto` is the measured choice per device. Not for:
// projections, rotary or the KV cache (layers.cpp).
#include "crammer/model/attention.hpp"

#include <cmath>

#include "crammer/model/attention_mass.hpp"
#include "crammer/util/error.hpp"
#include "layers.hpp"

namespace crammer {

AttentionKernel parse_attention_kernel(const std::string& name) {
  if (name == "auto") return AttentionKernel::automatic;
  if (name == "explicit") return AttentionKernel::explicit_softmax;
  if (name == "sdpa") return AttentionKernel::sdpa;
  throw ConfigError("runtime.attention: '" + name + "' is not one of auto | explicit | sdpa");
}

std::string to_string(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::automatic: return "auto";
    case AttentionKernel::explicit_softmax: return "explicit";
    case AttentionKernel::sdpa: return "sdpa";
  }
  return "?";
}

AttentionKernel resolve_attention_kernel(AttentionKernel requested, bool cuda) {
  if (requested != AttentionKernel::automatic) return requested;
  // GPUs: the fused kernels never materialise the [T, S] scores. CPUs: measured side by side
  // by cram_bench on LibTorch 2.11 (docs/bench/cram.md, "attention kernels").
  (void)cuda;
  return AttentionKernel::sdpa;
}

namespace layers {
namespace {

// masked[i, j]: key j lies after query i (absolute position past + i), or, with a sliding
// window W > 0, W or more positions before it (transformers: kv_idx > q_idx - W). [T, S] bool
torch::Tensor causal_mask(int64_t T, int64_t S, int64_t past, int64_t window, torch::Device device) {
  torch::Tensor ones = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(device));
  torch::Tensor masked = ones.triu(past + 1);
  if (window > 0) masked = masked.logical_or(ones.tril(past - window));
  return masked;
}

// True when no query of the chunk has a key beyond the window: the plain causal mask suffices.
bool window_inactive(int64_t T, int64_t past, int64_t window) { return window <= 0 || past + T <= window; }

torch::Tensor explicit_attention(const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& v, int64_t past, int64_t window, double scale,
                                 double softcap, AttentionMassRecorder* recorder) {
  const int64_t B = q.size(0), h = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t kvh = k.size(1), S = k.size(2), rep = h / kvh;
  // Grouped heads ride along the query rows, so k/v are never copied per head.
  torch::Tensor qg = q.reshape({B, kvh, rep * T, hd});               // [B, kvh, rep*T, hd]
  torch::Tensor s = at::matmul(qg, k.transpose(-1, -2));             // [B, kvh, rep*T, S]
  s = s.to(torch::kFloat32).mul(scale > 0 ? scale : 1.0 / std::sqrt(double(hd)));  // softmax in f32
  if (softcap > 0) s = s.div(softcap).tanh().mul(softcap);          // gemma2: before the mask
  if (T > 1 || !window_inactive(T, past, window))
    s = s.view({B, kvh, rep, T, S}).masked_fill(causal_mask(T, S, past, window, q.device()), -INFINITY).view_as(s);
  torch::Tensor p = at::softmax(s, -1);
  // A recorder reads the probabilities per query head: [B, kvh, rep*T, S] is [B, h, T, S].
  if (recorder) recorder->add(p.view({B, h, T, S}));
  p = p.to(q.scalar_type());
  return at::matmul(p, v).view({B, h, T, hd});                      // [B, h, T, hd]
}

torch::Tensor sdpa_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             int64_t past, int64_t window, double scale) {
  const int64_t T = q.size(2), h = q.size(1), kvh = k.size(1);
  // A chunk after a cache needs the mask explicitly: is_causal aligns it top-left (query i sees
  // keys 0..i), and these queries sit at past + i; so does an active sliding window. SDPA's
  // bool mask is true where it attends.
  c10::optional<at::Tensor> mask;
  const bool plain = window_inactive(T, past, window);
  if ((T > 1 && past > 0) || !plain) mask = causal_mask(T, k.size(2), past, window, q.device()).logical_not();
  const bool is_causal = T > 1 && past == 0 && plain;
  c10::optional<double> sc;
  if (scale > 0) sc = scale;
  // enable_gqa: grouped kv heads serve their query heads without a copy per head.
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal, sc, /*enable_gqa=*/kvh != h);
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t past, AttentionKernel kernel, int64_t window, double scale, double softcap) {
  const AttentionKernel use = resolve_attention_kernel(kernel, q.is_cuda());
  // No fused kernel caps the scores or hands out its probabilities: soft-capped layers, and every
  // layer of a forward recorded for its attention mass, take the explicit path.
  AttentionMassRecorder* recorder = past == 0 ? AttentionMassRecorder::active() : nullptr;
  switch (softcap > 0 || recorder ? AttentionKernel::explicit_softmax : use) {
    case AttentionKernel::sdpa:
      return sdpa_attention(q, k, v, past, window, scale);
    case AttentionKernel::automatic:  // resolved above; never reached
    case AttentionKernel::explicit_softmax:
      break;
  }
  return explicit_attention(q, k, v, past, window, scale, softcap, recorder);
}

}  // namespace layers
}  // namespace crammer
