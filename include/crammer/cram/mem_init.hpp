// Where a task's [mem] vectors start (cram.init), for tasks that do not start from a given mem
// (cram.init_mem, a progressive search's last stage). Every draw comes from the task's own seed
// (mem_seed), so a row does not depend on its batch or rank.
//   randn           N(0, 1) * std(embedding matrix) * init_std_scale (the paper's; today's default)
//   uniform         U[0, 0.02) * init_std_scale (progressive cramming's default)
//   vocab_gaussian  per dimension j: mean_j + init_std_scale * std_j * N(0, 1), mean and std of
//                   column j of the embedding matrix (a diagonal Gaussian fitted to the vocabulary)
//   text_mean       every vector the mean of the text's token embeddings (no draw)
// Not for: the low-rank start (init_low_rank, mem_params.hpp), which takes randn's std.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

class MemInit {
 public:
  // `embedding`: the model's input embedding matrix [V, d] (any device and float dtype).
  MemInit(const CramConfig& cfg, const torch::Tensor& embedding, uint64_t run_seed);

  // mem [k, d] f32 on CPU. `text_embeds` [L, d]: the text's token embeddings, needed (and only
  // read) when needs_text().
  torch::Tensor start(const std::string& task_key, int64_t k, int64_t d, const torch::Tensor& text_embeds = {}) const;
  bool needs_text() const { return kind_ == "text_mean"; }
  double randn_std() const { return randn_std_; }  // std(embedding) * init_std_scale

 private:
  std::string kind_;
  uint64_t seed_ = 0;
  double scale_ = 1.0;
  double randn_std_ = 0.0;
  torch::Tensor mean_, std_;  // [d] f32 CPU, vocab_gaussian
};

}  // namespace crammer
