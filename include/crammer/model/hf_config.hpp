// A Hugging Face checkpoint's config.json, read into one typed, architecture-neutral spec.
// Torch-free so that config validation (lengths vs max_position_embeddings) needs no LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace crammer {

// Rope scaling (`rope_scaling`, or the scaling fields of transformers 5's `rope_parameters`):
// "linear" (position interpolation: factor only), "llama3" or "longrope" (phi3); other types
// are refused.
struct RopeScaling {
  std::string rope_type;  // "linear" | "llama3" | "longrope"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
  // longrope: per-frequency divisors (rotary dim / 2 each); `long_factor` when a forward reaches
  // past original_max_position_embeddings, `short_factor` otherwise (as transformers decides per
  // call); cos and sin are multiplied by attention_factor.
  std::vector<double> short_factor, long_factor;
  double attention_factor = 1.0;
};

// Fields of one family (or of the decoder several families share): that family's file derives
// from this, reads, writes and uses its own struct (LlamaStyleFields, GemmaFields, OPT's, Mamba's,
// GPT-NeoX's); ModelSpec only carries it. Null: the family's defaults. Immutable once read.
struct FamilyFields {
  virtual ~FamilyFields() = default;
};

struct ModelSpec {
  std::string model_type;  // one of supported_model_types()
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads unless grouped-query attention
  int64_t head_dim = 0;      // hidden_size / num_heads unless config.json says otherwise
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;  // 0: no position limit (mamba)
  double norm_eps = 1e-5;    // layer_norm_epsilon | layer_norm_eps | rms_norm_eps
  std::string hidden_act;    // gelu_new | gelu | silu ...
  // Rotary (every family but gpt2).
  double rotary_pct = 1.0;   // fraction of head_dim that is rotated (gpt_neox rotary_pct, phi3 partial_rotary_factor)
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;
  bool tie_word_embeddings = false;
  // Per layer: the sliding attention window (a token sees itself and the window - 1 before it),
  // 0 = full causal attention. Empty = every layer full.
  std::vector<int64_t> layer_windows;
  // The width of the token embeddings, the [mem] vectors and the LM head's input when it differs
  // from hidden_size (opt-350m's word_embed_proj_dim: project_in / project_out around the
  // decoder); 0 = hidden_size.
  int64_t embedding_width = 0;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;
  std::string torch_dtype;  // as written in config.json ("float32", "bfloat16", ...), may be empty
  std::shared_ptr<const FamilyFields> family_fields;  // null unless the family has its own
};

// The largest sliding window of any layer; 0 when every layer attends to the whole prefix.
int64_t max_sliding_window(const ModelSpec& spec);

// The width of the token embeddings, the [mem] vectors and the LM head's input: hidden_size
// unless embedding_width says otherwise (opt-350m).
int64_t embedding_dim(const ModelSpec& spec);

// The model types crammer implements, for error messages.
const std::vector<std::string>& supported_model_types();

// Reads DIR/config.json. Throws ModelLoadError naming the file and the field on any problem
// (missing file, malformed JSON, missing or mistyped field, unknown model_type).
ModelSpec read_model_spec(const std::string& checkpoint_dir);

// Writes DIR/config.json with the real Hugging Face field names of spec.model_type.
void write_model_spec(const ModelSpec& spec, const std::string& checkpoint_dir);

}  // namespace crammer
