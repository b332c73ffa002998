// The small architecture the model tests build on: 2 layers, d_model 64, 4 heads of 16, no
// GQA, eps 1e-5. Each test sets vocabulary, MLP width, context and per-family fields itself.
#pragma once
#include <cstdint>
#include <string>

#include "crammer/model/hf_config.hpp"

namespace crammer::test {

inline ModelSpec small_spec(const std::string& type, int64_t vocab, int64_t intermediate,
                            int64_t max_positions) {
  ModelSpec s;
  s.model_type = type;
  s.vocab_size = vocab;
  s.hidden_size = 64;
  s.num_layers = 2;
  s.num_heads = 4;
  s.num_kv_heads = 4;
  s.head_dim = 16;
  s.intermediate_size = intermediate;
  s.max_position_embeddings = max_positions;
  s.norm_eps = 1e-5;
  return s;
}

}  // namespace crammer::test
