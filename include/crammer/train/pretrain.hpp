// Pretraining a small causal LM from plain text with crammer's own model code: the trainer behind
// `crammer pretrain` (AdamW, warmup + cosine LR, gradient clipping, f32), the held-out
// cross-entropy it reports, and the HF-format checkpoint it writes. Deterministic given the
// recipe's seed and thread count. Not a distributed or GPU trainer: it exists to make the demo
// model (models/demo) reproducible.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/train/recipe.hpp"

namespace crammer {

// Token ids of text files, documents joined by the tokenizer's EOS (when it has one). [N] int64.
torch::Tensor tokenize_files(const Tokenizer& tok, const std::vector<std::string>& paths);

// The held-out set: the first `eval_tokens` tokens of `path` (0: all of it), cut into
// non-overlapping windows of seq_len tokens (a partial last window is dropped).
// [n_windows, seq_len] int64.
torch::Tensor heldout_windows(const Tokenizer& tok, const std::string& path, int64_t seq_len,
                              int64_t eval_tokens);

// Mean next-token cross-entropy (nats) over windows [n, T]: inside each window position i
// predicts token i+1, so n * (T - 1) targets; full-vocabulary softmax in f32, computed
// `chunk` windows at a time.
double heldout_ce(CausalLM& model, const torch::Tensor& windows, int64_t chunk = 8);

struct PretrainProgress {
  int64_t step = 0;       // steps done (1-based after the first)
  int64_t steps = 0;
  double loss = 0;        // mean train loss over the steps since the last report
  double lr = 0;
  double grad_norm = 0;   // before clipping, at this step
  double tokens_per_s = 0;
  double elapsed_s = 0;
  double eta_s = 0;
  double heldout_ce = -1;  // set on evaluation steps
};

struct PretrainResult {
  std::vector<double> losses;  // train loss of every step
  std::vector<std::pair<int64_t, double>> heldout;  // (step, held-out CE) during training
  double final_train_loss = 0;  // mean of the last min(50, steps) steps
  double heldout_ce_trained = 0;   // held-out CE of the f32 weights at the end
  double heldout_ce_reloaded = -1;  // held-out CE of the written checkpoint, reloaded in f32
  int64_t heldout_targets = 0;
  int64_t train_tokens = 0;  // tokens in the training corpus
  int64_t seen_vocab = 0;    // distinct token ids in the training corpus (+ EOS)
  int64_t parameters = 0;    // unique trainable parameters
  double train_wall_s = 0;
  double tokens_per_s = 0;
  std::shared_ptr<CausalLM> model;  // the trained model (f32, trainable)
};

using ProgressCallback = std::function<void(const PretrainProgress&)>;

// Trains per the recipe. When recipe.output.dir is set, writes there the checkpoint
// (config.json, model.safetensors, tokenizer files), heldout.json and recipe.yaml, and reloads
// it to measure heldout_ce_reloaded. `on_progress` is called every log_every steps and at each
// evaluation (default: spdlog lines).
PretrainResult pretrain(const PretrainRecipe& recipe, const ProgressCallback& on_progress = {});

}  // namespace crammer
