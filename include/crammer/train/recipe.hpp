// The pretraining recipe (`crammer pretrain RECIPE.yaml [a.b=v ...]`): one typed struct tree with
// defaults, parsed from YAML in one place, `a.b=v` overrides applied before parsing, unknown keys
// and bad values refused with a ConfigError naming the file and key. Not the sweep config
// (crammer/config/experiment_config.hpp): that drives `crammer run`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crammer {

struct PretrainModelSpec {
  std::string arch = "llama";  // llama | gpt_neox | gpt2
  int64_t layers = 4;
  int64_t d_model = 256;
  int64_t heads = 4;
  int64_t kv_heads = 0;           // 0: == heads
  int64_t intermediate_size = 0;  // 0: the architecture's default (make-model's rule)
  int64_t max_positions = 512;    // max_position_embeddings written to config.json
  double rope_theta = 10000.0;
  bool tie_word_embeddings = true;
  double init_std = 0.02;
};

struct PretrainData {
  std::vector<std::string> train;        // plain text files, one document each
  std::string heldout;                   // plain text file, never trained on
  std::string tokenizer = "data/tokenizers/gpt2";
};

struct PretrainTrain {
  int64_t seq_len = 128;
  int64_t batch_size = 16;
  int64_t steps = 1000;
  double lr = 3e-3;
  int64_t warmup = 100;  // linear warmup steps, then cosine decay to min_lr at `steps`
  double min_lr = 3e-4;
  double weight_decay = 0.1;  // AdamW, on matrices only (not norms / biases)
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;  // global L2 norm; 0 = off
  uint64_t seed = 0;
  int64_t threads = 2;
  int64_t log_every = 10;
  int64_t eval_every = 200;  // 0 = only at the end
  int64_t eval_tokens = 8192;  // held-out: the first eval_tokens tokens (0: all), windows of seq_len
  // Rows of the LM head for tokens absent from the training corpus share one trained vector
  // (exact full-vocabulary softmax at a fraction of the cost; see docs/pretrain.md).
  bool share_unseen_rows = true;
  std::string init_from;  // optional checkpoint dir: start from its weights (resume, weights only)
};

struct PretrainOutput {
  std::string dir;             // "" = do not write a checkpoint (tests)
  std::string dtype = "bf16";  // f32 | bf16
};

struct PretrainRecipe {
  PretrainModelSpec model;
  PretrainData data;
  PretrainTrain train;
  PretrainOutput output;
  std::string source;  // file name (or "<string>") for messages
  std::string yaml;    // the resolved recipe as YAML (recorded with the checkpoint)
};

// Parses YAML text; `origin` names it in errors. Overrides are "a.b=v" words (v is YAML).
PretrainRecipe parse_recipe(const std::string& yaml_text, const std::string& origin,
                            const std::vector<std::string>& overrides = {});
// Reads PATH and parses it.
PretrainRecipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace crammer
