// `crammer make-model` as a library call: a random Hugging Face-format checkpoint directory
// (config.json + safetensors + the tokenizer files copied over) for tests, demos and
// pretraining starts. Not a trainer: the weights are HF-style random init.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crammer/model/hf_config.hpp"

namespace crammer {

struct MakeModelOptions {
  std::string arch = "llama";  // one of supported_model_types()
  int64_t layers = 2;
  int64_t d_model = 64;
  int64_t heads = 4;
  int64_t kv_heads = 0;           // 0: == heads (gpt2 and gpt_neox: must be)
  int64_t vocab_size = 0;         // required (> 0); the CLI fills it from --tokenizer
  int64_t intermediate_size = 0;  // 0: gpt2/gpt_neox 4 * d; Llama-style 8d/3 rounded up to 32
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  bool llama3_rope_scaling = false;  // Llama-3.1 rope_scaling (factor 8, 1, 4, 8192)
  double rotary_pct = 0.25;          // gpt_neox
  double clip_qkv = 0;               // olmo: clamp q, k, v to [-c, c]; 0 = none
  int64_t sliding_window = 0;        // mistral, qwen2, qwen3, phi3: every layer slides; smollm3: NoPE layers; 0 = none
  int64_t word_embed_proj_dim = 0;   // opt: embedding/head width when != d_model (project_in/out); 0 = d_model
  std::optional<bool> tie_word_embeddings;  // unset: gpt2 and opt true, others false
  uint64_t seed = 0;
  std::string dtype = "f32";  // f32 | bf16: the dtype written to the safetensors files
  int shards = 1;
  std::string tokenizer_dir;  // optional: tokenizer files to copy into out_dir
  std::string out_dir;  // must be new or empty, unless force
  bool force = false;   // replace out_dir's contents (they are deleted first)
  std::optional<double> init_std;  // default: initializer_range 0.02
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;
};

// The make-model options only some families take ("clip-qkv", "llama3-rope-scaling",
// "sliding-window", "word-embed-proj-dim"), and which families take one ("olmo", or
// "mistral, qwen2, ..."): for help text and errors.
extern const std::vector<std::string> kFamilyOptions;
std::string families_taking(const std::string& option);

// The ModelSpec make_model_checkpoint writes (defaults resolved); ConfigError on bad options.
ModelSpec model_spec_from_options(const MakeModelOptions& opts);

// Writes opts.out_dir/config.json, the safetensors file(s) and copies of the tokenizer files
// that exist (tokenizer.json, vocab.json, merges.txt, tokenizer.model, tokenizer_config.json,
// special_tokens_map.json). Returns the spec written. A non-empty out_dir is a ConfigError
// unless opts.force, which empties it first (old tokenizer files must not survive).
ModelSpec make_model_checkpoint(const MakeModelOptions& opts);

}  // namespace crammer
