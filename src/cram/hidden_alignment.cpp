// The alignment term (hidden_alignment.hpp). Only the text's positions are gathered: pads never
// enter a distance, so no 0/0 from the Euclidean norm's gradient at a pad.
#include "crammer/cram/hidden_alignment.hpp"

#include <ATen/core/grad_mode.h>
#include <torch/torch.h>

#include "crammer/cram/ops.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

std::vector<int64_t> aligned_states(int64_t n_states, int64_t count, bool from_last) {
  const int64_t n = count > 0 ? std::min(count, n_states) : n_states;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(from_last ? n_states - n + i : i);
  return out;
}

HiddenAlignment::HiddenAlignment(CausalLM& model, const torch::Tensor& text_embeds,
                                 const std::vector<int64_t>& text_begin, const std::vector<int64_t>& text_len,
                                 int64_t k, const LossConfig& loss) {
  at::NoGradGuard no_grad;
  distance_ = loss.align_distance == "l1" ? Distance::l1 : loss.align_distance == "cosine" ? Distance::cosine
                                                                                            : Distance::l2;
  batch_ = text_embeds.size(0);
  const int64_t S = text_embeds.size(1);
  std::vector<int64_t> rows, target_rows, sample;
  std::vector<float> weight;
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t p = text_begin[b]; p < text_begin[b] + text_len[b]; ++p) {
      rows.push_back(b * (k + S) + k + p);
      target_rows.push_back(b * S + p);
      sample.push_back(b);
      weight.push_back(1.f / static_cast<float>(text_len[b]));
    }
  }
  const auto device = text_embeds.device();
  rows_ = to_device(rows, device);
  sample_ = to_device(sample, device);
  weight_ = to_device(weight, device);
  auto at_text = to_device(target_rows, device);
  const auto states = model.forward_states(text_embeds);
  for (int64_t i : aligned_states(static_cast<int64_t>(states.size()), loss.align_layers, loss.align_from == "last")) {
    if (i == 0) continue;
    layers_.push_back(i);
    const auto& s = states[static_cast<size_t>(i)];
    target_.push_back(s.reshape({-1, s.size(2)}).index_select(0, at_text).to(torch::kFloat32));
  }
}

torch::Tensor HiddenAlignment::operator()(const std::vector<torch::Tensor>& states) const {
  auto total = torch::zeros({batch_}, weight_.options());
  for (size_t j = 0; j < layers_.size(); ++j) {
    const auto& s = states.at(static_cast<size_t>(layers_[j]));
    auto h = s.reshape({-1, s.size(2)}).index_select(0, rows_).to(torch::kFloat32);  // [R, d]
    const auto& t = target_[j];
    torch::Tensor dist;  // [R]
    switch (distance_) {
      case Distance::l2: dist = (h - t).square().sum(1).sqrt(); break;
      case Distance::l1: dist = (h - t).abs().sum(1); break;
      case Distance::cosine: dist = 1 - torch::cosine_similarity(h, t, 1); break;
    }
    total = total.index_add(0, sample_, dist * weight_);
  }
  return total;
}

}  // namespace crammer
