// `crammer make-model`: a random checkpoint in exactly the Hugging Face layout, for tests,
// demos and the starting point of pretraining.
#include <iostream>

#include "crammer/model/make_model.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "options.hpp"

namespace crammer {

namespace {

// "gpt2 | gpt_neox | llama | ...": the families the model layer registers.
std::string family_list(const char* sep) {
  std::string out;
  for (const auto& t : supported_model_types()) out += (out.empty() ? "" : sep) + t;
  return out;
}

}  // namespace

int cmd_make_model(const Args& args) {
  MakeModelOptions o;
  const std::string families = family_list(" | ");
  auto only = [](const std::string& option) { return " (" + families_taking(option) + ")"; };
  const std::string llama3 = "Llama-3.1 rope_scaling" + only("llama3-rope-scaling");
  const std::string clip = "clamp q, k, v to [-c, c]" + only("clip-qkv") + "; 0 = none";
  const std::string proj = "width of the token embeddings and the head when it differs from --d-model" +
                           only("word-embed-proj-dim") + "; 0 = d-model";
  po::options_description desc("options");
  desc.add_options()("arch", po::value<std::string>(&o.arch)->required(), families.c_str())(
      "layers", po::value<int64_t>(&o.layers)->required(), "number of transformer blocks")(
      "d-model", po::value<int64_t>(&o.d_model)->required(), "hidden size")(
      "heads", po::value<int64_t>(&o.heads)->default_value(0), "attention heads (required but for mamba, which has none)")(
      "kv-heads", po::value<int64_t>(&o.kv_heads)->default_value(0), "key/value heads (llama GQA); 0 = heads")(
      "vocab-size", po::value<int64_t>(), "vocabulary size (or take it from --tokenizer)")(
      "tokenizer", po::value<std::string>(), "tokenizer directory: sets the vocabulary and is copied")(
      "intermediate-size", po::value<int64_t>(&o.intermediate_size)->default_value(0),
      "MLP width; 0 = the architecture's default")(
      "max-positions", po::value<int64_t>(&o.max_position_embeddings)->default_value(2048),
      "max_position_embeddings")("rope-theta", po::value<double>(&o.rope_theta)->default_value(10000.0),
                                 "rotary base (every family but gpt2)")(
      "llama3-rope-scaling", po::bool_switch(&o.llama3_rope_scaling), llama3.c_str())(
      "rotary-pct", po::value<double>(&o.rotary_pct)->default_value(0.25), "rotated fraction of head dim (gpt_neox)")(
      "clip-qkv", po::value<double>(&o.clip_qkv)->default_value(0), clip.c_str())(
      "sliding-window", po::value<int64_t>(&o.sliding_window)->default_value(0),
      "sliding attention window on every layer (mistral, qwen2, qwen3, phi3), the NoPE layers (smollm3) or the alternating sliding layers (gemma2: even, gemma3_text: 5 of 6); 0 = none")(
      "word-embed-proj-dim", po::value<int64_t>(&o.word_embed_proj_dim)->default_value(0),
      proj.c_str())(
      "tie-embeddings", po::value<bool>(), "tie the LM head to the embeddings (default: gpt2 and opt yes, others no)")(
      "init-std", po::value<double>(), "std of the normal weight init (default 0.02)")(
      "seed", po::value<uint64_t>(&o.seed)->default_value(0), "random seed")(
      "dtype", po::value<std::string>(&o.dtype)->default_value("f32"), "stored dtype: f32 | bf16")(
      "shards", po::value<int>(&o.shards)->default_value(1), "safetensors shards (HF index file when > 1)")(
      "out", po::value<std::string>(&o.out_dir)->required(), "output checkpoint directory (new or empty)")(
      "force", po::bool_switch(&o.force), "delete what --out holds before writing");
  po::variables_map vm;
  if (!parse_command_line("make-model",
                          "--arch " + family_list("|") + " --layers N --d-model D [--heads H] [--kv-heads H] "
                          "[--vocab-size V | --tokenizer DIR] [--seed S] [--dtype f32|bf16] --out DIR [--force]",
                          desc, {}, args, vm))
    return 0;
  if (vm.count("tokenizer")) {
    o.tokenizer_dir = vm["tokenizer"].as<std::string>();
    auto tok = load_tokenizer(o.tokenizer_dir);
    o.vocab_size = tok->vocab_size();
    if (auto b = tok->bos_id()) o.bos_token_id = *b;
    if (auto e = tok->eos_id()) o.eos_token_id = *e;
  }
  if (vm.count("vocab-size")) {
    int64_t v = vm["vocab-size"].as<int64_t>();
    if (o.vocab_size > 0 && v < o.vocab_size)
      throw ConfigError("--vocab-size " + std::to_string(v) + " is smaller than the tokenizer's " +
                        std::to_string(o.vocab_size) + " tokens");
    o.vocab_size = v;
  }
  if (o.vocab_size <= 0) throw ConfigError("make-model needs --vocab-size V or --tokenizer DIR");
  if (vm.count("tie-embeddings")) o.tie_word_embeddings = vm["tie-embeddings"].as<bool>();
  if (vm.count("init-std")) o.init_std = vm["init-std"].as<double>();
  ModelSpec spec = make_model_checkpoint(o);
  std::cout << "wrote " << spec.model_type << " checkpoint to " << o.out_dir << ": " << spec.num_layers
            << " layers, d_model " << spec.hidden_size << ", " << spec.num_heads << " heads ("
            << spec.num_kv_heads << " kv), vocab " << spec.vocab_size << "\n";
  return 0;
}

}  // namespace crammer
