// How much attention falls on the leading key positions (the [mem] vectors), per attention
// layer, recorded during one forward pass: the measure of output.attention_mass. Not for:
// which attention kernel runs (attention.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace crammer {

// While one lives on a thread, every attention layer run there without a KV cache takes the
// explicit softmax path and records, per sample b,
//   sum_i weight[b, i] * mean_h sum_{j < n_keys} p[b, h, i, j],
// p the softmax probabilities of query position i over key position j in head h (grouped
// key-value heads serve their query heads). Layers are recorded in the order they run.
class AttentionMassRecorder {
 public:
  // query_weight [B, T] f32 on the model's device: each query position's weight (0: left out).
  AttentionMassRecorder(int64_t n_keys, torch::Tensor query_weight);
  ~AttentionMassRecorder();
  AttentionMassRecorder(const AttentionMassRecorder&) = delete;
  AttentionMassRecorder& operator=(const AttentionMassRecorder&) = delete;

  // This thread's recorder, or nullptr.
  static AttentionMassRecorder* active();
  // probs [B, h, T, S] f32: one layer's attention probabilities.
  void add(const torch::Tensor& probs);
  // [B, layers] f32 on the CPU; layers = 0 when no attention layer ran (mamba).
  torch::Tensor mass() const;

 private:
  int64_t n_keys_;
  torch::Tensor weight_;
  std::vector<torch::Tensor> layers_;  // [B] each
  AttentionMassRecorder* previous_;
};

}  // namespace crammer
