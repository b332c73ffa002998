// The trainable form of a batch's [mem] vectors (DESIGN §4): either mem [B, k, d] itself, or
// (cram.mem_rank r > 0) progressive cramming's low-dimensional parametrisation, per sample
// mem = z W^T + b with z [k, r], W [d, r] and b [d], all three trained by AdamW. Samples keep
// their own tensors and moments, so a batch gives the rows its samples give one by one.
// Not for: the step loop (cram_loop.cpp) or the optimiser arithmetic (adamw_step, ops.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "crammer/cram/ops.hpp"

namespace crammer {

// The low-rank start of one task, from a CPU generator seeded with mem_seed(key, run seed):
// z ~ N(0, 1), W ~ N(0, init_std^2 / r) (drawn after z), b = 0, so every entry of the first
// mem = z W^T + b has variance init_std^2 as the full-rank init does.
struct LowRankInit {
  torch::Tensor z;  // [k, r] f32
  torch::Tensor w;  // [d, r] f32
  torch::Tensor b;  // [d] f32
};
LowRankInit init_low_rank(const std::string& task_key, uint64_t run_seed, int64_t k, int64_t d, int64_t rank,
                          double init_std);

class MemParams {
 public:
  // Full rank: the parameter is mem [B, k, d] f32 itself.
  static MemParams full(torch::Tensor mem);
  // Rank r: z [B, k, r], w [B, d, r], b [B, d], all f32 on one device.
  static MemParams low_rank(torch::Tensor z, torch::Tensor w, torch::Tensor b);

  // Fresh leaves of the trained tensors (requiring grad when asked) and the mem [B, k, d] f32
  // they give, differentiable back to those leaves.
  torch::Tensor mem(bool requires_grad);
  // After backward through the last mem(true): AdamW on every trained tensor.
  void step(const OptimizerConfig& opt);
  // Keeps samples `keep_index` ([B'] int64 on the tensors' device): finished samples leave,
  // with their moments and their rows of the last backward's gradients.
  void keep(const torch::Tensor& keep_index);
  // Full rank only: continue from moments m, v [B, k, d] with `updates[b]` updates behind
  // sample b (a progressive search's carried AdamW state) instead of a fresh AdamW.
  void carry(torch::Tensor m, torch::Tensor v, std::vector<int64_t> updates);
  // Full rank: the AdamW state of mem.
  const AdamWState& adam() const { return adam_.at(0); }

 private:
  explicit MemParams(std::vector<torch::Tensor> tensors);
  void take_grads();
  std::vector<torch::Tensor> tensors_;  // mem, or z, w, b
  std::vector<torch::Tensor> leaves_;   // of the last mem()
  std::vector<torch::Tensor> grads_;    // their gradients, once taken
  std::vector<AdamWState> adam_;
};

}  // namespace crammer
