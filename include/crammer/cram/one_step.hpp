// One-step generation's carrier (cram.one_step; Mezentsev & Oseledets, arXiv 2505.21189): the
// model reads [e_1..e_k, m, .., m] instead of [mem, t_1..t_N], and the outputs at e_k and at
// each copy of m predict t_1..t_N, every token from one forward pass. Not for: the step loop
// (cram_loop.cpp) or the autoregressive decode (greedy_decode, ops.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "crammer/config/experiment_config.hpp"
#include "crammer/cram/ops.hpp"

namespace crammer {

class CausalLM;
class MemInit;

// The carrier [B, T, d] f32, differentiable back to `trained`: e = trained[:, :k], then T - k
// copies of m, which is trained[:, k] (per_text: trained is [B, k + 1, d]) or, when `shared_m`
// ([d]) is defined, that vector (trained is [B, k, d]). Text b of N_b tokens is read off
// positions k - 1 .. k + N_b - 2, so T = k + max N_b - 1.
torch::Tensor one_step_carrier(const torch::Tensor& trained, const torch::Tensor& shared_m, int64_t k, int64_t T);

// The run's shared m [d] f32 on CPU (one_step shared): cram.init_mem's tensor "m" under init
// file (cram.init_mem set), else drawn by cram.init from the run seed and the key "m" (the same for every task,
// batch and rank). ConfigError naming the file when its "m" is missing or not d wide.
torch::Tensor one_step_shared_m(const CramConfig& cfg, const MemInit& start, int64_t d);

// The decode check of one-step generation: one forward of each text's carrier from `trained`
// (as one_step_carrier), the argmax at each of its N positions against t_1..t_N. prefix:
// correct tokens before the first mistake; matches: correct tokens in all; tokens: the argmaxes.
GreedyDecode one_step_decode(CausalLM& model, const torch::Tensor& trained, const torch::Tensor& shared_m, int64_t k,
                             const std::vector<std::vector<int32_t>>& texts);

}  // namespace crammer
