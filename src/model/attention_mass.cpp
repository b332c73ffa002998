// The attention-mass recorder (include/crammer/model/attention_mass.hpp).
#include "crammer/model/attention_mass.hpp"

#include <torch/torch.h>

namespace crammer {

namespace {
thread_local AttentionMassRecorder* current = nullptr;
}  // namespace

AttentionMassRecorder::AttentionMassRecorder(int64_t n_keys, torch::Tensor query_weight)
    : n_keys_(n_keys), weight_(std::move(query_weight)), previous_(current) {
  current = this;
}

AttentionMassRecorder::~AttentionMassRecorder() { current = previous_; }

AttentionMassRecorder* AttentionMassRecorder::active() { return current; }

void AttentionMassRecorder::add(const torch::Tensor& probs) {
  at::NoGradGuard no_grad;
  auto on_keys = probs.narrow(-1, 0, n_keys_).sum(-1).mean(1);  // [B, T]
  layers_.push_back(on_keys.to(torch::kFloat32).mul(weight_).sum(-1).cpu());
}

torch::Tensor AttentionMassRecorder::mass() const {
  if (layers_.empty()) return torch::zeros({weight_.size(0), 0});
  return torch::stack(layers_, 1);
}

}  // namespace crammer
