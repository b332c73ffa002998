// Shared helpers of the cram tests: tiny random models and naive full-logits reference
// computations (independent of the engine's chunked head and KV cache). Not a test itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/types.h>

#include "crammer/cram/engine.hpp"
#include "crammer/cram/ops.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer::test {

inline ModelSpec tiny_spec(const std::string& type, int64_t layers, int64_t d, int64_t heads,
                           int64_t vocab) {
  ModelSpec s;
  s.model_type = type;
  s.vocab_size = vocab;
  s.hidden_size = d;
  s.num_layers = layers;
  s.num_heads = heads;
  s.num_kv_heads = heads;
  s.head_dim = d / heads;
  s.intermediate_size = 4 * d;
  s.max_position_embeddings = 2048;
  s.hidden_act = type == "llama" ? "silu" : "gelu_new";
  s.norm_eps = 1e-5;
  s.tie_word_embeddings = type == "gpt2";
  return s;
}

inline std::shared_ptr<CausalLM> tiny_model(const ModelSpec& spec, uint64_t seed,
                                            double init_range = 0.02) {
  at::set_num_threads(2);
  auto m = make_random_model(spec, seed, init_range);
  m->freeze();
  m->eval();
  return m;
}

// "It is a truth universally acknowledged, that a single man in possession of a good fortune,
// must be in want of a wife." as GPT-2 ids (each word is one entry of GPT-2's vocab.json).
inline std::vector<int32_t> austen_gpt2_ids() {
  return {1026, 318, 257, 3872, 26208, 10810, 11, 326, 257, 2060, 582, 287, 7797,
          286,  257, 922, 15807, 11,  1276,  307, 287, 765, 286, 257, 3656, 13};
}

// Maps ids into [0, vocab) keeping equal ids equal, for models with a small vocabulary.
inline std::vector<int32_t> fold_ids(const std::vector<int32_t>& ids, int64_t vocab) {
  std::vector<int32_t> out;
  for (auto i : ids) out.push_back(static_cast<int32_t>(i % vocab));
  return out;
}

// torch.optim.AdamW's first update of `param` from its gradient `grad` (no autograd): with
// m = (1 - b1) g and v = (1 - b2) g^2 both bias-corrected, the step is lr * g / (|g| + eps).
inline torch::Tensor adamw_first_step(const torch::Tensor& param, const torch::Tensor& grad,
                                      const OptimizerConfig& o) {
  return param.detach() * (1 - o.lr * o.weight_decay) - o.lr * grad / ((grad * grad).sqrt() + o.eps);
}

inline std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> out;
  uint64_t x = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    out.push_back(static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(vocab)));
  }
  return out;
}

inline torch::Tensor ids_tensor(const std::vector<int32_t>& ids) {
  std::vector<int64_t> v(ids.begin(), ids.end());
  return torch::tensor(v, torch::dtype(torch::kInt64)).unsqueeze(0);  // [1, N]
}

// Naive reference: full [T, V] logits of one sequence (no chunking, no cache).
struct NaiveScore {
  double mean_ce = 0;
  int64_t correct = 0;
  int64_t n = 0;
};

// Scores targets[i] at hidden position first + i of the sequence `embeds` [1, T, d].
inline NaiveScore naive_score(CausalLM& model, const torch::Tensor& embeds, int64_t first,
                              const std::vector<int32_t>& targets) {
  at::NoGradGuard no_grad;
  auto hidden = model.forward(embeds);                                   // [1, T, d]
  auto logits = torch::matmul(hidden[0].to(torch::kFloat32),
                              model.head_weight().to(torch::kFloat32).t());  // [T, V]
  auto logp = torch::log_softmax(logits, 1);
  NaiveScore s;
  double sum = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const int64_t pos = first + static_cast<int64_t>(i);
    sum -= logp[pos][targets[i]].item<double>();
    s.correct += logits[pos].argmax().item<int64_t>() == targets[i] ? 1 : 0;
  }
  s.n = static_cast<int64_t>(targets.size());
  s.mean_ce = sum / static_cast<double>(s.n);
  return s;
}

// The configuration that converges: a random Llama with d_model 256 and a larger init std
// responds to one mem vector; the Austen sentence's ids (vocab folded to 512). Built once per
// test binary.
struct AustenLlama {
  std::shared_ptr<CausalLM> model = tiny_model(tiny_spec("llama", 2, 256, 4, 512), 7, 0.08);
  std::vector<int32_t> text = fold_ids(austen_gpt2_ids(), 512);
};

inline AustenLlama& austen_llama() {
  static AustenLlama f;
  return f;
}

inline CramSettings quick_settings(int64_t max_steps, int64_t batch = 16) {
  CramSettings s;
  s.cram.optimizer.max_steps = max_steps;
  s.cram.optimizer.patience = max_steps;
  s.batching.batch_size = batch;
  s.batching.head_chunk = 7;  // odd on purpose: chunks straddle samples
  s.seed = 11;
  return s;
}

inline Task make_task(const std::string& key, const std::vector<int32_t>& ids, int32_t length,
                      int32_t n_mem = 1, int64_t sample = 0) {
  Task t;
  t.key = key;
  t.sample_id = sample;
  t.n_mem = n_mem;
  t.length = length;
  t.token_ids = ids;
  return t;
}

// Texts of different lengths crammed in one batch give the rows each gives alone (padding and
// compaction change nothing): the same steps, accuracies and attention mass, the loss to f32
// rounding. Returns the batched rows.
inline std::vector<TaskResult> expect_batched_equals_alone(CausalLM& model, const std::vector<Task>& tasks,
                                                           const CramSettings& s) {
  auto batched = cram_tasks(model, tasks, s);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto alone = cram_tasks(model, {tasks[i]}, s).at(0);
    const auto& b = batched.at(i);
    EXPECT_EQ(b.status, TaskStatus::done) << b.error;
    EXPECT_EQ(b.steps, alone.steps) << tasks[i].key;
    EXPECT_DOUBLE_EQ(b.best_acc, alone.best_acc) << tasks[i].key;
    EXPECT_DOUBLE_EQ(b.decode_acc, alone.decode_acc) << tasks[i].key;
    EXPECT_NEAR(b.best_loss, alone.best_loss, 2e-4 * std::max(1.0, alone.best_loss)) << tasks[i].key;
    EXPECT_EQ(b.mem_attention.size(), alone.mem_attention.size()) << tasks[i].key;
    for (size_t l = 0; l < std::min(b.mem_attention.size(), alone.mem_attention.size()); ++l)
      EXPECT_NEAR(b.mem_attention[l], alone.mem_attention[l], 1e-4) << tasks[i].key << " layer " << l;
  }
  return batched;
}

}  // namespace crammer::test
