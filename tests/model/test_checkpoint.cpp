// Checkpoint directories end to end: make_model_checkpoint writes config.json + safetensors,
// load_model reads them back into the same model (sharded, bf16, base-model names), and every
// mismatch between config.json and the tensors is a ModelLoadError that names file and tensor.
// The safetensors format itself is tested in test_safetensors.cpp.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <string>
#include <vector>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/make_model.hpp"
#include "crammer/model/checkpoint_info.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;
using torch::Tensor;

class Checkpoints : public ::testing::Test {
 protected:
  std::string dir(const std::string& name) const { return (root_ / name).string(); }

  static MakeModelOptions options(const std::string& arch) {
    MakeModelOptions o;
    o.arch = arch;
    o.layers = 2;
    o.d_model = 32;
    o.heads = 4;
    o.kv_heads = arch == "llama" ? 2 : 0;
    o.vocab_size = 61;
    o.max_position_embeddings = 64;
    o.llama3_rope_scaling = arch == "llama";
    o.seed = 5;
    o.init_std = 0.2;  // peaked attention: a wrongly loaded weight shows in the logits
    return o;
  }
  static Tensor ids() {
    torch::manual_seed(1);
    return torch::randint(0, 61, {2, 9}, torch::kInt64);
  }
  static Tensor logits(CausalLM& m) {
    torch::NoGradGuard g;
    return m.lm_head(m.forward(m.embed(ids())));
  }
  std::string expect_load_error(const std::string& d) {
    try {
      load_model(d);
    } catch (const ModelLoadError& e) {
      return e.what();
    }
    ADD_FAILURE() << "load_model(" << d << ") did not throw ModelLoadError";
    return "";
  }

  test::TempDir tmp_{"ckpt"};
  fs::path root_ = tmp_.root();
};

TEST_F(Checkpoints, SavedModelLoadsIdentically) {
  for (const std::string& arch : supported_model_types()) {  // every registered family
    MakeModelOptions o = options(arch);
    o.out_dir = dir(arch);
    ModelSpec spec = make_model_checkpoint(o);
    auto mem = make_random_model(spec, o.seed, *o.init_std);
    auto loaded = load_model(o.out_dir);
    EXPECT_EQ(loaded->spec().model_type, arch);
    for (auto& p : loaded->parameters()) EXPECT_FALSE(p.requires_grad());
    double diff = (logits(*mem) - logits(*loaded)).abs().max().item<double>();
    std::printf("%-9s saved vs in-memory max |logits diff| = %g\n", arch.c_str(), diff);
    EXPECT_EQ(diff, 0.0) << arch;
    // Same weights under the same HF names, bit for bit.
    auto a = export_hf_weights(*mem), b = export_hf_weights(*loaded);
    ASSERT_EQ(a.size(), b.size());
    for (auto& [n, t] : a) EXPECT_TRUE(t.equal(b.at(n))) << n;
  }
}

// An option only some families take, given for another, is an error naming those that take it
// (derived from the registry), not silently ignored.
TEST_F(Checkpoints, FamilyOnlyOptionsNameTheFamiliesTakingThem) {
  auto error = [&](MakeModelOptions o) -> std::string {
    o.out_dir = dir("unused");
    try {
      model_spec_from_options(o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  MakeModelOptions o = options("llama");
  o.clip_qkv = 0.5;
  EXPECT_NE(error(o).find("--clip-qkv: llama does not take it (only olmo)"), std::string::npos) << error(o);
  o.clip_qkv = 0;
  o.word_embed_proj_dim = 16;
  EXPECT_NE(error(o).find("--word-embed-proj-dim: llama does not take it (only opt)"), std::string::npos) << error(o);
  o = options("mistral");
  o.llama3_rope_scaling = true;
  EXPECT_NE(error(o).find("--llama3-rope-scaling: mistral does not take it (only llama)"), std::string::npos) << error(o);
  o = options("gpt2");
  o.sliding_window = 4;
  const std::string sw = error(o);
  EXPECT_NE(sw.find("--sliding-window: gpt2 does not take it (only mistral, qwen2, qwen3, smollm3, phi3, gemma2, gemma3_text)"),
            std::string::npos) << sw;
  for (const std::string& arch : std::vector<std::string>{"olmo", "opt", "qwen2", "gemma2"}) {
    o = options(arch);
    o.clip_qkv = arch == "olmo" ? 0.5 : 0;
    o.word_embed_proj_dim = arch == "opt" ? 16 : 0;
    o.sliding_window = arch == "qwen2" || arch == "gemma2" ? 4 : 0;
    EXPECT_EQ(error(o), "") << arch;
  }
}

TEST_F(Checkpoints, ShardedEqualsUnsharded) {
  MakeModelOptions o = options("llama");
  o.out_dir = dir("one");
  make_model_checkpoint(o);
  o.out_dir = dir("three");
  o.shards = 3;
  make_model_checkpoint(o);
  EXPECT_TRUE(fs::exists(dir("three") + "/model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(dir("three") + "/model-00003-of-00003.safetensors"));
  EXPECT_FALSE(fs::exists(dir("three") + "/model.safetensors"));
  auto a = load_model(dir("one")), b = load_model(dir("three"));
  EXPECT_TRUE(logits(*a).equal(logits(*b)));
}

TEST_F(Checkpoints, Bf16CheckpointIsCloseToF32) {
  MakeModelOptions o = options("llama");
  o.out_dir = dir("f32");
  make_model_checkpoint(o);
  o.out_dir = dir("bf16");
  o.dtype = "bf16";
  make_model_checkpoint(o);
  EXPECT_EQ(Checkpoint::open(dir("bf16")).info("model.norm.weight").dtype, torch::kBFloat16);
  auto f32 = load_model(dir("f32"));
  auto bf_as_f32 = load_model(dir("bf16"), torch::kFloat32);
  auto bf = load_model(dir("bf16"), torch::kBFloat16);
  EXPECT_EQ(bf->embedding_weight().scalar_type(), torch::kBFloat16);
  // bf16 weights are the f32 weights rounded: exactly, after conversion.
  EXPECT_TRUE(bf_as_f32->embedding_weight().equal(
      f32->embedding_weight().to(torch::kBFloat16).to(torch::kFloat32)));
  Tensor ref = logits(*f32);
  Tensor l1 = logits(*bf_as_f32), l2 = logits(*bf);
  EXPECT_EQ(l2.scalar_type(), torch::kFloat32);
  double scale = ref.abs().max().item<double>();
  double d1 = (l1 - ref).abs().max().item<double>(), d2 = (l2 - ref).abs().max().item<double>();
  double agree = (l2.argmax(-1) == ref.argmax(-1)).to(torch::kFloat64).mean().item<double>();
  std::printf("bf16 weights, f32 compute: max diff %.3g; bf16 compute: max diff %.3g "
              "(max |logit| %.3g), argmax agreement %.2f\n", d1, d2, scale, agree);
  // Tolerance: bf16 keeps 8 significant bits (relative 2^-9 per rounding); two layers of
  // rounded weights and activations stay within 5% of the logit scale.
  EXPECT_LT(d1, 0.05 * scale);
  EXPECT_LT(d2, 0.05 * scale);
  EXPECT_GT(d2, 0.0);  // bf16 compute really ran in bf16
  EXPECT_GE(agree, 0.9);
}

TEST_F(Checkpoints, TokenizerFilesAreCopied) {
  fs::create_directories(dir("tok"));
  std::ofstream(dir("tok") + "/vocab.json") << "{\"a\": 0}";
  std::ofstream(dir("tok") + "/merges.txt") << "#version: 0.2\n";
  MakeModelOptions o = options("gpt2");
  o.tokenizer_dir = dir("tok");
  o.out_dir = dir("m");
  make_model_checkpoint(o);
  EXPECT_TRUE(fs::exists(dir("m") + "/vocab.json"));
  EXPECT_TRUE(fs::exists(dir("m") + "/merges.txt"));
  EXPECT_FALSE(fs::exists(dir("m") + "/tokenizer.json"));
  EXPECT_EQ(read_model_spec(dir("m")).vocab_size, 61);
}

// make-model into a directory that holds something: refused, or with force emptied first, so
// no old tokenizer file or shard survives beside the new model.
TEST_F(Checkpoints, NonEmptyOutNeedsForce) {
  fs::create_directories(dir("tok"));
  std::ofstream(dir("tok") + "/vocab.json") << "{\"a\": 0}";
  std::ofstream(dir("tok") + "/merges.txt") << "#version: 0.2\n";
  MakeModelOptions o = options("gpt2");
  o.tokenizer_dir = dir("tok");
  o.out_dir = dir("m");
  o.shards = 2;
  make_model_checkpoint(o);
  ASSERT_TRUE(fs::exists(dir("m") + "/merges.txt"));
  o.tokenizer_dir.clear();
  o.shards = 1;
  try {
    make_model_checkpoint(o);
    ADD_FAILURE() << "a non-empty --out was overwritten";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--out " + dir("m") + " is not empty"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(dir("m") + "/model.safetensors.index.json"));  // untouched
  o.force = true;
  make_model_checkpoint(o);
  EXPECT_FALSE(fs::exists(dir("m") + "/merges.txt"));
  EXPECT_FALSE(fs::exists(dir("m") + "/vocab.json"));
  EXPECT_FALSE(fs::exists(dir("m") + "/model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(dir("m") + "/model.safetensors"));
  load_model(dir("m"));
  // A file where the directory should be.
  std::ofstream(dir("file")) << "x";
  o.out_dir = dir("file");
  EXPECT_THROW(make_model_checkpoint(o), ConfigError);
}

TEST_F(Checkpoints, BadOptionsAreConfigErrors) {
  MakeModelOptions o = options("llama");
  o.out_dir = dir("x");
  o.heads = 5;
  EXPECT_THROW(make_model_checkpoint(o), ConfigError);
  o = options("gpt2");
  o.out_dir = dir("x");
  o.kv_heads = 2;
  EXPECT_THROW(make_model_checkpoint(o), ConfigError);
  o = options("rwkv");  // a family crammer does not implement
  o.out_dir = dir("x");
  EXPECT_THROW(make_model_checkpoint(o), ConfigError);
  // Options a family has no field for are refused by name, whatever the family.
  for (const std::string& arch : supported_model_types()) {
    if (arch == "llama") continue;
    o = options(arch);
    o.out_dir = dir("x");
    o.llama3_rope_scaling = true;
    try {
      make_model_checkpoint(o);
      ADD_FAILURE() << arch << ": --llama3-rope-scaling accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--llama3-rope-scaling: " + arch), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(dir("x")));  // nothing written by a refused make-model
}

// A GPT2Model save (hub "gpt2") has no "transformer." prefix and still carries attn.bias
// buffers: both load, as in transformers.
TEST_F(Checkpoints, BaseModelNamesAndOldBuffersLoad) {
  MakeModelOptions o = options("gpt2");
  o.out_dir = dir("full");
  ModelSpec spec = make_model_checkpoint(o);
  auto full = load_model(o.out_dir);
  std::map<std::string, Tensor> stripped;
  for (auto& [n, t] : export_hf_weights(*full)) stripped[n.substr(std::string("transformer.").size())] = t;
  for (int i = 0; i < 2; ++i)
    stripped["h." + std::to_string(i) + ".attn.bias"] = torch::ones({1, 1, 64, 64}).tril();
  write_checkpoint(dir("base"), stripped);
  write_model_spec(spec, dir("base"));
  auto base = load_model(dir("base"));
  EXPECT_TRUE(logits(*full).equal(logits(*base)));
}

// The planner's n_params (safetensors headers only) equals the loaded model's own count, for
// tied and untied heads, sharded files, and a base-model checkpoint carrying old buffers.
TEST_F(Checkpoints, ParameterCountIsTheLoadedModels) {
  auto loaded_count = [](const std::string& d) {
    int64_t n = 0;
    for (const auto& p : load_model(d)->parameters()) n += p.numel();
    return n;
  };
  for (const std::string& arch : supported_model_types()) {
    for (bool tied : {false, true}) {
      MakeModelOptions o = options(arch);
      o.tie_word_embeddings = tied;
      o.shards = tied ? 2 : 1;
      o.out_dir = dir(std::string(arch) + (tied ? "_tied" : "_untied"));
      make_model_checkpoint(o);
      ASSERT_TRUE(has_checkpoint(o.out_dir));
      const int64_t want = loaded_count(o.out_dir);
      EXPECT_EQ(count_parameters(o.out_dir), want) << arch << (tied ? " tied" : " untied");
      // The head is V x d more when untied, and never counted twice when tied.
      if (!tied) {
        EXPECT_GT(want, 61 * 32) << arch;
      }
    }
  }
  MakeModelOptions o = options("gpt2");
  o.out_dir = dir("full");
  ModelSpec spec = make_model_checkpoint(o);
  std::map<std::string, Tensor> base;
  for (auto& [n, t] : export_hf_weights(*load_model(o.out_dir))) base[n.substr(std::string("transformer.").size())] = t;
  for (int i = 0; i < 2; ++i) base["h." + std::to_string(i) + ".attn.bias"] = torch::ones({1, 1, 64, 64}).tril();
  base["lm_head.weight"] = base["wte.weight"];  // a tied head saved anyway
  write_checkpoint(dir("base"), base);
  write_model_spec(spec, dir("base"));
  EXPECT_EQ(count_parameters(dir("base")), loaded_count(dir("base")));
  EXPECT_EQ(count_parameters(dir("base")), count_parameters(o.out_dir));
  EXPECT_FALSE(has_checkpoint(dir("nothing")));
  EXPECT_THROW(count_parameters(dir("nothing")), Error);
}

TEST_F(Checkpoints, MissingTensorIsNamed) {
  MakeModelOptions o = options("llama");
  o.out_dir = dir("ok");
  ModelSpec spec = make_model_checkpoint(o);
  auto w = export_hf_weights(*load_model(o.out_dir));
  w.erase("model.layers.1.mlp.up_proj.weight");
  write_checkpoint(dir("bad"), w);
  write_model_spec(spec, dir("bad"));
  std::string msg = expect_load_error(dir("bad"));
  std::printf("%s\n", msg.c_str());
  EXPECT_NE(msg.find(dir("bad")), std::string::npos);
  EXPECT_NE(msg.find("missing tensors: model.layers.1.mlp.up_proj.weight"), std::string::npos);
}

TEST_F(Checkpoints, UnusedTensorIsNamed) {
  MakeModelOptions o = options("gpt_neox");
  o.out_dir = dir("ok");
  ModelSpec spec = make_model_checkpoint(o);
  auto w = export_hf_weights(*load_model(o.out_dir));
  w["gpt_neox.layers.2.attention.dense.weight"] = torch::zeros({32, 32});  // a third layer
  write_checkpoint(dir("bad"), w);
  write_model_spec(spec, dir("bad"));
  std::string msg = expect_load_error(dir("bad"));
  std::printf("%s\n", msg.c_str());
  EXPECT_NE(msg.find("unused tensors: gpt_neox.layers.2.attention.dense.weight"), std::string::npos);
}

TEST_F(Checkpoints, WrongShapeIsNamed) {
  MakeModelOptions o = options("gpt2");
  o.out_dir = dir("ok");
  ModelSpec spec = make_model_checkpoint(o);
  auto w = export_hf_weights(*load_model(o.out_dir));
  w["transformer.h.0.attn.c_attn.weight"] = torch::zeros({96, 32});  // [out, in]: not Conv1D
  write_checkpoint(dir("bad"), w);
  write_model_spec(spec, dir("bad"));
  std::string msg = expect_load_error(dir("bad"));
  std::printf("%s\n", msg.c_str());
  EXPECT_NE(msg.find("transformer.h.0.attn.c_attn.weight"), std::string::npos);
  EXPECT_NE(msg.find("[96, 32]"), std::string::npos);
  EXPECT_NE(msg.find("[32, 96]"), std::string::npos);
  EXPECT_NE(msg.find(".safetensors"), std::string::npos);
}

TEST_F(Checkpoints, ConfigProblemsNameFileAndField) {
  MakeModelOptions o = options("llama");
  o.out_dir = dir("m");
  make_model_checkpoint(o);
  const std::string cfg = dir("m") + "/config.json";
  std::string text;
  {
    std::ifstream in(cfg);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& t) { std::ofstream(cfg) << t; };

  write(text.substr(0, text.size() / 2));  // truncated JSON
  std::string msg = expect_load_error(dir("m"));
  EXPECT_NE(msg.find(cfg), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;

  std::string no_layers = text;
  no_layers.replace(no_layers.find("\"num_hidden_layers\""), std::string("\"num_hidden_layers\"").size(),
                    "\"num_layers_typo\"");
  write(no_layers);
  msg = expect_load_error(dir("m"));
  EXPECT_NE(msg.find(cfg), std::string::npos) << msg;
  EXPECT_NE(msg.find("'num_hidden_layers'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;

  std::string unknown = text;
  unknown.replace(unknown.find("\"llama\""), 7, "\"rwkv\"");
  write(unknown);
  msg = expect_load_error(dir("m"));
  EXPECT_NE(msg.find("'rwkv'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gpt2, gpt_neox, llama"), std::string::npos) << msg;

  fs::remove(cfg);
  msg = expect_load_error(dir("m"));
  EXPECT_NE(msg.find(cfg), std::string::npos) << msg;
}

}  // namespace
}  // namespace crammer
