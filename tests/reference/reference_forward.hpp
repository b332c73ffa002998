// What crammer computes for a fixed batch of token ids, in the shapes transformers returns, so
// that tests compare the two directly: logits, the paper's per-row baseline (CE of
// logits[:-1] vs ids[1:] and its accuracy) and the logits after a [mem] prefix.
#pragma once
#include <string>

#include <torch/types.h>

#include "crammer/model/causal_lm.hpp"

namespace crammer::reference {

struct ForwardOutputs {
  torch::Tensor logits;      // [B, T, V] f32
  torch::Tensor loss;        // [B] f32
  torch::Tensor acc;         // [B] f32
  torch::Tensor mem_logits;  // [B, k+T, V] f32 (undefined without mem)
};

// ids [B, T] (any numeric dtype, integral values); mem [k, d] or undefined.
ForwardOutputs run_forward(CausalLM& model, const torch::Tensor& ids, const torch::Tensor& mem);

// max |a - b| / max |b|: the relative error of a whole tensor, so entries near zero do not
// dominate. Shapes must match (throws std::runtime_error naming WHAT otherwise).
double relative_error(const torch::Tensor& a, const torch::Tensor& b, const std::string& what);

}  // namespace crammer::reference
