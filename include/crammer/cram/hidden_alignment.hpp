// The alignment term of the cramming objective (cram.loss.align_*, after progressive_cramming's
// activation alignment loss): per text, the distance between the hidden states of the run with
// [mem] and those of the text alone, at the text's positions, averaged over those positions and
// summed over the aligned states. Not for: the CE term (chunked_head, ops.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

class CausalLM;

// Which of N_STATES hidden states (Hugging Face's hidden_states: the input of each layer, then
// the final states) the term covers: the first COUNT, or the last COUNT when FROM_LAST; all
// when COUNT is 0. State 0 is the text's own embeddings in both runs (distance 0, no gradient),
// so it is listed but never computed.
std::vector<int64_t> aligned_states(int64_t n_states, int64_t count, bool from_last);

class HiddenAlignment {
 public:
  HiddenAlignment() = default;
  // TEXT_EMBEDS [B, S, d]: each sample's context and text, right-padded, without [mem]; sample
  // b's text at positions text_begin[b] .. text_begin[b] + text_len[b] - 1. The run with [mem]
  // puts K vectors before the same inputs. Runs the model once on TEXT_EMBEDS (no gradient).
  HiddenAlignment(CausalLM& model, const torch::Tensor& text_embeds, const std::vector<int64_t>& text_begin,
                  const std::vector<int64_t>& text_len, int64_t k, const LossConfig& loss);

  // STATES: forward_states of the run with [mem] ([B, K + S, d] each) -> [B] f32, in their graph.
  torch::Tensor operator()(const std::vector<torch::Tensor>& states) const;

 private:
  enum class Distance { l2, l1, cosine };
  Distance distance_ = Distance::l2;
  std::vector<int64_t> layers_;        // aligned states, state 0 left out
  std::vector<torch::Tensor> target_;  // per aligned state [R, d] f32, the text-alone states
  torch::Tensor rows_;                 // [R] int64: row b * (K + S) + K + position in the run with [mem]
  torch::Tensor sample_;               // [R] int64
  torch::Tensor weight_;               // [R] f32: 1 / text_len[b]
  int64_t batch_ = 0;
};

}  // namespace crammer
