// make_model_checkpoint: a random HF-format checkpoint directory (see make_model.hpp).
#include "crammer/model/make_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"
#include "family.hpp"

namespace crammer {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail_option(const std::string& what) { throw ConfigError("make-model: " + what); }

bool takes(const Family& f, const std::string& option) {
  return std::find(f.options.begin(), f.options.end(), option) != f.options.end();
}
}  // namespace

const std::vector<std::string> kFamilyOptions = {"clip-qkv", "llama3-rope-scaling", "sliding-window",
                                                 "word-embed-proj-dim"};

std::string families_taking(const std::string& option) {
  std::string out;
  for (const Family* f : families())
    if (takes(*f, option)) out += (out.empty() ? "" : ", ") + f->model_type;
  return out;
}

ModelSpec model_spec_from_options(const MakeModelOptions& o) {
  auto fail = fail_option;
  const Family* family = find_family(o.arch);
  if (!family) {
    std::string list;
    for (const auto& t : supported_model_types()) list += (list.empty() ? "" : ", ") + t;
    fail("--arch '" + o.arch + "' is not one of " + list);
  }
  if (o.layers <= 0) fail("--layers must be > 0");
  if (o.d_model <= 0) fail("--d-model must be > 0");
  const bool attention = family->attention;  // mamba has no heads: --heads and --kv-heads unused
  if (attention && o.heads <= 0) fail("--heads is required for " + o.arch + " (> 0)");
  if (attention && o.d_model % o.heads != 0)
    fail("--d-model " + std::to_string(o.d_model) + " is not divisible by --heads " +
         std::to_string(o.heads));
  if (o.vocab_size <= 0) fail("--vocab-size must be > 0 (or give --tokenizer)");
  const int64_t kv = o.kv_heads == 0 ? o.heads : o.kv_heads;
  if (attention && (kv <= 0 || o.heads % kv != 0))
    fail("--heads " + std::to_string(o.heads) + " is not divisible by --kv-heads " +
         std::to_string(kv));
  if (o.dtype != "f32" && o.dtype != "bf16") fail("--dtype '" + o.dtype + "' is not f32 or bf16");
  if (o.shards < 1) fail("--shards must be >= 1");
  if (o.out_dir.empty()) fail("--out is required");

  ModelSpec s;
  s.model_type = o.arch;
  s.vocab_size = o.vocab_size;
  s.hidden_size = o.d_model;
  s.num_layers = o.layers;
  s.num_heads = o.heads;
  s.num_kv_heads = kv;
  s.head_dim = attention ? o.d_model / o.heads : 0;
  s.max_position_embeddings = o.max_position_embeddings;
  s.rope_theta = o.rope_theta;
  s.bos_token_id = o.bos_token_id;
  s.eos_token_id = o.eos_token_id;
  s.torch_dtype = o.dtype == "bf16" ? "bfloat16" : "float32";
  s.norm_eps = 1e-5;
  if (o.sliding_window < 0) fail("--sliding-window must be >= 0");
  if (o.clip_qkv < 0) fail("--clip-qkv must be >= 0");
  if (o.word_embed_proj_dim < 0) fail("--word-embed-proj-dim must be >= 0");
  const std::pair<std::string, bool> given[] = {{"clip-qkv", o.clip_qkv > 0},
                                                 {"llama3-rope-scaling", o.llama3_rope_scaling},
                                                 {"sliding-window", o.sliding_window > 0},
                                                 {"word-embed-proj-dim", o.word_embed_proj_dim > 0}};
  for (const auto& [option, set] : given)
    if (set && !takes(*family, option))
      fail("--" + option + ": " + o.arch + " does not take it (only " + families_taking(option) + ")");
  family->make_defaults(o, s, fail_option);
  return s;
}

namespace {

// A checkpoint directory holds one model: writing into an old one would leave its other files
// (another tokenizer, other shards) beside the new weights.
void prepare_out_dir(const MakeModelOptions& o) {
  const fs::path out(o.out_dir);
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw ConfigError("make-model: --out " + o.out_dir + " is a file; expected a new or empty directory");
  if (!fs::is_directory(out, ec) || fs::is_empty(out, ec)) return;
  if (!o.force)
    throw ConfigError("make-model: --out " + o.out_dir +
                      " is not empty; give a new or empty directory, or --force to delete its contents first");
  for (const auto& entry : fs::directory_iterator(out)) {
    fs::remove_all(entry.path(), ec);
    if (ec) throw ConfigError("make-model: --force: cannot delete " + entry.path().string() + ": " + ec.message());
  }
}

}  // namespace

ModelSpec make_model_checkpoint(const MakeModelOptions& o) {
  ModelSpec spec = model_spec_from_options(o);
  prepare_out_dir(o);
  auto model = make_random_model(spec, o.seed, o.init_std.value_or(0.02));
  std::map<std::string, torch::Tensor> weights = export_hf_weights(*model);
  if (o.dtype == "bf16")
    for (auto& [name, t] : weights) t = t.to(torch::kBFloat16);
  write_checkpoint(o.out_dir, weights, o.shards);  // creates out_dir
  write_model_spec(spec, o.out_dir);
  if (!o.tokenizer_dir.empty()) {
    static const char* files[] = {"tokenizer.json",        "vocab.json",
                                  "merges.txt",            "tokenizer.model",
                                  "tokenizer_config.json", "special_tokens_map.json"};
    int copied = 0;
    for (const char* f : files) {
      fs::path src = fs::path(o.tokenizer_dir) / f;
      if (!fs::exists(src)) continue;
      std::error_code ec;
      fs::copy_file(src, fs::path(o.out_dir) / f, fs::copy_options::overwrite_existing, ec);
      if (ec) throw ConfigError("make-model: cannot copy " + src.string() + ": " + ec.message());
      ++copied;
    }
    if (copied == 0)
      throw ConfigError("make-model: --tokenizer " + o.tokenizer_dir +
                        " holds none of tokenizer.json, vocab.json, merges.txt, tokenizer.model");
  }
  return spec;
}

}  // namespace crammer
