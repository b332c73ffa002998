// Shared pieces of the train-layer tests: temp corpora, file reading, held-out windows.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/train/pretrain.hpp"
#include "crammer/train/recipe.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace crammer;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh temp dir holding the first bytes of two Austen novels (training, held-out).
struct TinyCorpus {
  test::TempDir tmp{"train"};
  fs::path dir = tmp.root();
  TinyCorpus() {
    std::ofstream(dir / "train.txt") << read_file("data/corpora/austen/emma.txt").substr(0, 12000);
    std::ofstream(dir / "heldout.txt") << read_file("data/corpora/austen/persuasion.txt").substr(0, 4000);
  }

  std::string recipe(const std::string& extra = "") const {
    return "model: {arch: llama, layers: 1, d_model: 32, heads: 2, max_positions: 64}\n"
           "data: {train: [" + (dir / "train.txt").string() + "], heldout: " + (dir / "heldout.txt").string() +
           ", tokenizer: data/tokenizers/gpt2}\n"
           "train: {seq_len: 16, batch_size: 4, steps: 6, lr: 0.01, warmup: 2, min_lr: 0.001, seed: 3,\n"
           "        threads: 2, log_every: 3, eval_every: 0, eval_tokens: 256}\n" + extra;
  }
};

[[maybe_unused]] std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse_recipe(yaml, "r.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace
