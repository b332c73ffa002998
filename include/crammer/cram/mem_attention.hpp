// The attention mass on [mem] at each sample's best mem (output.attention_mass; the attention-
// sink analysis): one more forward per text, recorded per attention layer by
// AttentionMassRecorder (model/attention_mass.hpp). Not for: the step loop (engine.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace crammer {

class CausalLM;

// Per text, one value per attention layer: the share of attention that the text's positions
// after [mem] put on the k [mem] positions, averaged over heads and over those positions. The
// positions are t_1..t_{N-1} as inputs, after the context (mems[b] [k, d]: the model reads
// [mem, context, t_1..t_{N-1}]); one_step: the N - 1 copies of m of the carrier
// (one_step_carrier: mems[b] [k + 1, d] per text, or [k, d] with `shared_m` [d]). Empty for a
// one-token text (no such position) and for a model without attention layers. One text at a
// time, so the [heads, T, T] probabilities of one text are the most that exist.
std::vector<std::vector<float>> mem_attention_mass(CausalLM& model, const std::vector<torch::Tensor>& mems,
                                                   const std::vector<std::vector<int32_t>>& texts,
                                                   const std::vector<std::vector<int32_t>>& contexts, int64_t k,
                                                   bool one_step, const torch::Tensor& shared_m);

}  // namespace crammer
