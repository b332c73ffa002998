// The trainable form of a batch's [mem] vectors: full rank or mem = z W^T + b (mem_params.hpp).
#include "crammer/cram/mem_params.hpp"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

namespace crammer {

LowRankInit init_low_rank(const std::string& task_key, uint64_t run_seed, int64_t k, int64_t d, int64_t rank,
                          double init_std) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(mem_seed(task_key, run_seed));
  const auto f32 = torch::dtype(torch::kFloat32);
  LowRankInit init;
  init.z = torch::randn({k, rank}, gen, f32);
  init.w = torch::randn({d, rank}, gen, f32) * (init_std / std::sqrt(static_cast<double>(rank)));
  init.b = torch::zeros({d}, f32);
  return init;
}

MemParams::MemParams(std::vector<torch::Tensor> tensors) : tensors_(std::move(tensors)) {
  for (const auto& t : tensors_) adam_.push_back(adamw_init(t));
}

MemParams MemParams::full(torch::Tensor mem) { return MemParams({std::move(mem)}); }

MemParams MemParams::low_rank(torch::Tensor z, torch::Tensor w, torch::Tensor b) {
  return MemParams({std::move(z), std::move(w), std::move(b)});
}

torch::Tensor MemParams::mem(bool requires_grad) {
  leaves_.clear();
  grads_.clear();
  for (const auto& t : tensors_) leaves_.push_back(t.detach().requires_grad_(requires_grad));
  if (leaves_.size() == 1) return leaves_[0];
  // [B, k, r] x [B, r, d] + [B, 1, d]
  return torch::baddbmm(leaves_[2].unsqueeze(1), leaves_[0], leaves_[1].transpose(1, 2));
}

void MemParams::take_grads() {
  if (!grads_.empty()) return;
  for (const auto& leaf : leaves_) grads_.push_back(leaf.grad());
}

void MemParams::step(const OptimizerConfig& opt) {
  take_grads();
  for (size_t i = 0; i < tensors_.size(); ++i) adamw_step(tensors_[i], grads_.at(i), adam_[i], opt);
  leaves_.clear();
  grads_.clear();
}

void MemParams::carry(torch::Tensor m, torch::Tensor v, std::vector<int64_t> updates) {
  AdamWState& a = adam_.at(0);
  a.m = std::move(m);
  a.v = std::move(v);
  a.carried = std::move(updates);
}

void MemParams::keep(const torch::Tensor& keep_index) {
  at::NoGradGuard no_grad;
  take_grads();  // the last backward's gradients follow their samples
  for (auto& g : grads_)
    if (g.defined()) g = g.index_select(0, keep_index);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    tensors_[i] = tensors_[i].index_select(0, keep_index);
    adam_[i].keep(keep_index);
  }
}

}  // namespace crammer
