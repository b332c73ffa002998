// The shell every network here shares: a token embedding table, an LM head that is that table
// when tied or its own matrix, and one run() that the full and the KV-cached forward both take.
// Internal to the model layer.
#pragma once

#include "crammer/model/causal_lm.hpp"

namespace crammer {

class TokenLM : public CausalLM {
 public:
  using CausalLM::CausalLM;

  torch::Tensor embed(const torch::Tensor& ids) override { return at::embedding(tokens_, ids); }
  torch::Tensor embedding_weight() override { return tokens_; }
  torch::Tensor head_weight() override { return head_.defined() ? head_ : tokens_; }
  torch::Tensor forward(const torch::Tensor& embeds) override { return run(embeds, nullptr); }
  torch::Tensor forward_cached(const torch::Tensor& embeds, KVCache& cache) override { return run(embeds, &cache); }

 protected:
  // inputs_embeds [B, T, e] at positions past..past+T-1 (past: the cache's length, 0 without
  // one), appending to the cache when given -> final hidden states [B, T, e].
  virtual torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) = 0;

  torch::Tensor tokens_;  // [V, e]
  torch::Tensor head_;    // [V, e]; undefined when tied
};

}  // namespace crammer
