// config.json reading and writing (config/hf_config.cpp) with the field names transformers
// writes: configs shaped like the published gpt2, Pythia-160M and Llama-3.2-1B ones, renamed
// fields of newer transformers, round trips, and errors naming file and field.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "crammer/model/hf_config.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

class HfConfig : public ::testing::Test {
 protected:
  ModelSpec read(const std::string& json_text) {
    std::ofstream(dir_ / "config.json") << json_text;
    return read_model_spec(dir_.string());
  }
  std::string error(const std::string& json_text) {
    try {
      read(json_text);
    } catch (const ModelLoadError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ModelLoadError for " << json_text;
    return "";
  }
  std::string file() const { return (dir_ / "config.json").string(); }
  // A family's own fields (ModelSpec::family_fields) are seen where they go: config.json.
  nlohmann::json written(const ModelSpec& s) {
    write_model_spec(s, dir_.string());
    return nlohmann::json::parse(std::ifstream(file()));
  }
  test::TempDir tmp_{"hfcfg"};
  fs::path dir_ = tmp_.root();
};

TEST_F(HfConfig, Gpt2HubConfig) {
  ModelSpec s = read(R"({"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
    "bos_token_id": 50256, "eos_token_id": 50256, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768,
    "n_head": 12, "n_inner": null, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257})");
  EXPECT_EQ(s.model_type, "gpt2");
  EXPECT_EQ(s.hidden_size, 768);
  EXPECT_EQ(s.num_layers, 12);
  EXPECT_EQ(s.num_heads, 12);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.intermediate_size, 4 * 768);  // n_inner null
  EXPECT_EQ(s.max_position_embeddings, 1024);
  EXPECT_EQ(s.hidden_act, "gelu_new");
  EXPECT_TRUE(s.tie_word_embeddings);
  EXPECT_EQ(s.bos_token_id.value(), 50256);
}

TEST_F(HfConfig, PythiaConfigAndNewerFieldNames) {
  const char* pythia = R"({"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0,
    "eos_token_id": 0, "hidden_act": "gelu", "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
    "model_type": "gpt_neox", "num_attention_heads": 12, "num_hidden_layers": 12,
    "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false,
    "torch_dtype": "float16", "use_cache": true, "use_parallel_residual": true,
    "vocab_size": 50304})";
  ModelSpec s = read(pythia);
  EXPECT_EQ(s.model_type, "gpt_neox");
  EXPECT_DOUBLE_EQ(s.rotary_pct, 0.25);
  EXPECT_DOUBLE_EQ(s.rope_theta, 10000.0);
  EXPECT_EQ(written(s).at("use_parallel_residual"), true);
  EXPECT_EQ(written(s).at("attention_bias"), true);  // default
  EXPECT_FALSE(s.tie_word_embeddings);
  EXPECT_EQ(s.torch_dtype, "float16");
  // transformers >= 4.48 names: partial_rotary_factor, rope_theta, dtype.
  ModelSpec n = read(R"({"model_type": "gpt_neox", "vocab_size": 100, "hidden_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256,
    "max_position_embeddings": 128, "partial_rotary_factor": 0.5, "rope_theta": 500.0,
    "use_parallel_residual": false, "attention_bias": false, "dtype": "bfloat16"})");
  EXPECT_DOUBLE_EQ(n.rotary_pct, 0.5);
  EXPECT_DOUBLE_EQ(n.rope_theta, 500.0);
  EXPECT_EQ(written(n).at("use_parallel_residual"), false);
  EXPECT_EQ(written(n).at("attention_bias"), false);
  EXPECT_EQ(n.torch_dtype, "bfloat16");
}

TEST_F(HfConfig, Llama32Config) {
  ModelSpec s = read(R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
    "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
    "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
    "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
      "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "use_cache": true, "vocab_size": 128256})");
  EXPECT_EQ(s.num_kv_heads, 8);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(s.rope_theta, 500000.0);
  ASSERT_TRUE(s.rope_scaling.has_value());
  EXPECT_EQ(s.rope_scaling->rope_type, "llama3");
  EXPECT_DOUBLE_EQ(s.rope_scaling->factor, 32.0);
  EXPECT_EQ(s.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_TRUE(s.tie_word_embeddings);
  EXPECT_EQ(s.eos_token_id.value(), 128001);  // first of the list
}

TEST_F(HfConfig, RoundTripUsesHfFieldNames) {
  ModelSpec s;
  s.model_type = "llama";
  s.vocab_size = 300;
  s.hidden_size = 96;
  s.num_layers = 3;
  s.num_heads = 6;
  s.num_kv_heads = 2;
  s.head_dim = 24;  // != 96 / 6: must survive via head_dim
  s.intermediate_size = 256;
  s.max_position_embeddings = 512;
  s.norm_eps = 1e-6;
  s.hidden_act = "silu";
  s.rope_theta = 500000;
  RopeScaling llama3;  // Llama-3.1's: factor 8, low / high frequency factors 1 / 4, 8192
  llama3.rope_type = "llama3";
  llama3.factor = 8;
  s.rope_scaling = llama3;
  s.torch_dtype = "bfloat16";
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("num_key_value_heads"), 2);
  EXPECT_EQ(j.at("rope_scaling").at("rope_type"), "llama3");
  EXPECT_EQ(j.at("architectures").at(0), "LlamaForCausalLM");
  ModelSpec r = read_model_spec(dir_.string());
  EXPECT_EQ(r.head_dim, 24);
  EXPECT_EQ(r.num_kv_heads, 2);
  EXPECT_EQ(j.at("attention_bias"), false);  // no fields of its own: LlamaConfig's defaults
  EXPECT_EQ(j.at("mlp_bias"), false);
  EXPECT_DOUBLE_EQ(r.rope_scaling->low_freq_factor, 1.0);

  ModelSpec g;
  g.model_type = "gpt2";
  g.vocab_size = 50;
  g.hidden_size = 32;
  g.num_layers = 2;
  g.num_heads = 4;
  g.num_kv_heads = 4;
  g.head_dim = 8;
  g.intermediate_size = 100;
  g.max_position_embeddings = 64;
  g.hidden_act = "gelu_new";
  g.tie_word_embeddings = true;
  write_model_spec(g, dir_.string());
  j = nlohmann::json::parse(std::ifstream(file()));
  for (const char* k : {"n_embd", "n_layer", "n_head", "n_positions", "n_inner",
                        "layer_norm_epsilon", "activation_function"})
    EXPECT_TRUE(j.contains(k)) << k;
  ModelSpec gr = read_model_spec(dir_.string());
  EXPECT_EQ(gr.intermediate_size, 100);
  EXPECT_EQ(gr.hidden_size, 32);
}

TEST_F(HfConfig, ErrorsNameFileAndField) {
  const std::string good = R"("model_type": "llama", "vocab_size": 100, "hidden_size": 64,
    "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 64)";
  std::string e = error("{" + good + "}");  // num_hidden_layers missing
  EXPECT_NE(e.find(file()), std::string::npos) << e;
  EXPECT_NE(e.find("'num_hidden_layers'"), std::string::npos) << e;

  e = error("{" + good + R"(, "num_hidden_layers": "two"})");
  EXPECT_NE(e.find("'num_hidden_layers'"), std::string::npos) << e;
  EXPECT_NE(e.find("integer"), std::string::npos) << e;

  e = error("{" + good + R"(, "num_hidden_layers": 2, "num_key_value_heads": 3})");
  EXPECT_NE(e.find("'num_key_value_heads'"), std::string::npos) << e;

  e = error("{" + good + R"(, "num_hidden_layers": 2, "rope_scaling": {"rope_type": "yarn", "factor": 4}})");
  EXPECT_NE(e.find("rope_scaling"), std::string::npos) << e;
  EXPECT_NE(e.find("yarn"), std::string::npos) << e;

  e = error("{" + good + R"(, "num_hidden_layers": 2, "rope_scaling": {"rope_type": "llama3", "factor": 8}})");
  EXPECT_NE(e.find("rope_scaling: field 'low_freq_factor'"), std::string::npos) << e;

  // A number JSON can spell but not hold (found by fuzz_hf_config): the same error, not a crash.
  e = error("{" + good + R"(, "num_hidden_layers": 1e705})");
  EXPECT_NE(e.find(file()), std::string::npos) << e;
  EXPECT_NE(e.find("number overflow"), std::string::npos) << e;
  // An integral float or an unsigned past int64 (found by fuzz_hf_config: UBSan on the cast).
  e = error("{" + good + R"(, "num_hidden_layers": 3.3e39})");
  EXPECT_NE(e.find("'num_hidden_layers'"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
  e = error("{" + good + R"(, "num_hidden_layers": 18446744073709551615})");
  EXPECT_NE(e.find("expected an integer below 2^63"), std::string::npos) << e;

  e = error(R"({"model_type": "t5", "vocab_size": 10})");
  EXPECT_NE(e.find("'t5'"), std::string::npos) << e;
  EXPECT_NE(e.find("gpt2, gpt_neox, llama"), std::string::npos) << e;

  e = error(R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": 30, "n_head": 4,
               "n_layer": 1, "n_positions": 8})");
  EXPECT_NE(e.find("'n_head'"), std::string::npos) << e;
  EXPECT_NE(e.find("30"), std::string::npos) << e;

  e = error(R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": 32, "n_head": 4,
               "n_layer": 1, "n_positions": 8, "activation_function": "mish"})");
  EXPECT_NE(e.find("'activation_function'"), std::string::npos) << e;

  e = error("[1, 2]");
  EXPECT_NE(e.find(file()), std::string::npos) << e;
  e = error("{\"model_type\": ");
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
}

}  // namespace
}  // namespace crammer

// The Llama-style families beyond llama: configs shaped like the published Qwen2.5-0.5B,
// Qwen3-0.6B and Mistral-7B-v0.1 ones, and their sliding-window fields as transformers reads them.
namespace crammer {
namespace {

const char* kQwen25 = R"({"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896,
  "initializer_range": 0.02, "intermediate_size": 4864, "max_position_embeddings": 32768,
  "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

TEST_F(HfConfig, Qwen25Config) {
  ModelSpec s = read(kQwen25);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.num_kv_heads, 2);
  // q/k/v biases without an o bias are the family's, not a field (Architectures.Qwen2BiasWindow...).
  EXPECT_TRUE(s.layer_windows.empty()) << "use_sliding_window false: every layer full";
  EXPECT_DOUBLE_EQ(s.rope_theta, 1e6);
  EXPECT_TRUE(s.tie_word_embeddings);
}

TEST_F(HfConfig, Qwen3Config) {
  ModelSpec s = read(R"({"architectures": ["Qwen3ForCausalLM"], "attention_bias": false,
    "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "intermediate_size": 3072, "max_position_embeddings": 40960,
    "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16,
    "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
    "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_sliding_window": false,
    "vocab_size": 151936})");
  EXPECT_EQ(s.head_dim, 128);  // != 1024 / 16
  EXPECT_EQ(written(s).at("attention_bias"), false);  // the per-head q/k norms are the family's
  EXPECT_TRUE(s.layer_windows.empty());
}

TEST_F(HfConfig, MistralSlidingWindowAbsentNullOrSet) {
  const std::string base = R"({"model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096,
    "num_hidden_layers": 4, "num_attention_heads": 32, "intermediate_size": 14336,
    "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 10000.0)";
  ModelSpec v01 = read(base + R"(, "num_key_value_heads": 8, "sliding_window": 4096})");
  EXPECT_EQ(v01.layer_windows, (std::vector<int64_t>{4096, 4096, 4096, 4096}));
  EXPECT_EQ(max_sliding_window(v01), 4096);
  EXPECT_TRUE(read(base + R"(, "sliding_window": null})").layer_windows.empty());
  // Absent fields take MistralConfig's defaults: window 4096, 8 key/value heads.
  ModelSpec absent = read(base + "}");
  EXPECT_EQ(absent.layer_windows.size(), 4u);
  EXPECT_EQ(absent.num_kv_heads, 8);
  EXPECT_NE(error(base + R"(, "sliding_window": 0})").find("field 'sliding_window': must be > 0"), std::string::npos);
  // Per-layer lists are sized by num_hidden_layers: a huge count is an error, not an allocation.
  std::string huge = base;
  huge.replace(huge.find(R"("num_hidden_layers": 4)"), 22, R"("num_hidden_layers": 1000000000000)");
  EXPECT_NE(error(huge + "}").find("field 'num_hidden_layers': must be in 1..100000, got 1000000000000"),
            std::string::npos);
}

TEST_F(HfConfig, QwenWindowsFromMaxWindowLayersOrLayerTypes) {
  std::string base = kQwen25;
  base.replace(base.find(R"("use_sliding_window": false)"), 27, R"("use_sliding_window": true)");
  base.replace(base.find(R"("max_window_layers": 24)"), 23, R"("max_window_layers": 22)");
  ModelSpec s = read(base);
  ASSERT_EQ(s.layer_windows.size(), 24u);
  EXPECT_EQ(s.layer_windows[21], 0);
  EXPECT_EQ(s.layer_windows[22], 32768);
  EXPECT_EQ(s.layer_windows[23], 32768);
  EXPECT_EQ(max_sliding_window(s), 32768);

  // layer_types, when given, decides (transformers 5 writes it).
  std::string types = R"(, "layer_types": [)";
  for (int i = 0; i < 24; ++i) types += std::string(i ? ", " : "") + (i % 2 ? "\"sliding_attention\"" : "\"full_attention\"");
  std::string with_types = base.substr(0, base.size() - 1) + types + "]}";
  ModelSpec t = read(with_types);
  EXPECT_EQ(t.layer_windows[0], 0);
  EXPECT_EQ(t.layer_windows[1], 32768);
  EXPECT_EQ(t.layer_windows[22], 0);

  std::string bad = with_types;
  bad.replace(bad.find("\"sliding_attention\""), 19, "\"chunked_attention\"");
  std::string e = error(bad);
  EXPECT_NE(e.find(file() + ": field 'layer_types': entry 1 is \"chunked_attention\""), std::string::npos) << e;
  e = error(base.substr(0, base.size() - 1) + R"(, "layer_types": ["full_attention"]})");
  EXPECT_NE(e.find("field 'layer_types': expected a list of 24 layer types"), std::string::npos) << e;
}

TEST_F(HfConfig, Smollm3NopeLayersAndWindows) {
  const std::string base = R"({"model_type": "smollm3", "vocab_size": 128256, "hidden_size": 2048,
    "num_hidden_layers": 8, "num_attention_heads": 16, "intermediate_size": 11008,
    "max_position_embeddings": 65536, "rope_theta": 5000000.0)";
  ModelSpec s = read(base + "}");  // SmolLM3Config's defaults: every 4th layer NoPE, tied, 4 kv heads
  EXPECT_EQ(written(s).at("no_rope_layers"), nlohmann::json({1, 1, 1, 0, 1, 1, 1, 0}));
  EXPECT_TRUE(s.tie_word_embeddings);
  EXPECT_EQ(s.num_kv_heads, 4);
  EXPECT_TRUE(s.layer_windows.empty());
  // use_sliding_window: the NoPE layers slide.
  ModelSpec w = read(base + R"(, "use_sliding_window": true, "sliding_window": 4096})");
  EXPECT_EQ(w.layer_windows, (std::vector<int64_t>{0, 0, 0, 4096, 0, 0, 0, 4096}));
  ModelSpec listed = read(base + R"(, "no_rope_layers": [1, 0, 1, 1, 1, 1, 1, 0]})");
  EXPECT_EQ(written(listed).at("no_rope_layers"), nlohmann::json({1, 0, 1, 1, 1, 1, 1, 0}));
  std::string e = error(base + R"(, "no_rope_layers": [1, 2, 1, 1, 1, 1, 1, 0]})");
  EXPECT_NE(e.find("field 'no_rope_layers': entry 1 is 2; expected 0 or 1"), std::string::npos) << e;
  // Written and read back the same.
  const nlohmann::json wj = written(w);
  ModelSpec r = read_model_spec(dir_.string());
  EXPECT_EQ(written(r), wj);
  EXPECT_EQ(r.layer_windows, w.layer_windows);
}

TEST_F(HfConfig, Olmo1B0724Config) {
  const std::string cfg = R"({"architectures": ["OlmoForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": null, "clip_qkv": null, "eos_token_id": 50279,
    "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
    "max_position_embeddings": 4096, "model_type": "olmo", "num_attention_heads": 16,
    "num_hidden_layers": 16, "num_key_value_heads": 16, "pad_token_id": 1, "rope_scaling": null,
    "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "float32",
    "use_cache": true, "vocab_size": 50304})";
  ModelSpec s = read(cfg);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  EXPECT_TRUE(written(s).at("clip_qkv").is_null());
  EXPECT_FALSE(s.bos_token_id.has_value());
  std::string clipped = cfg;
  clipped.replace(clipped.find(R"("clip_qkv": null)"), 16, R"("clip_qkv": 8.0)");
  EXPECT_EQ(written(read(clipped)).at("clip_qkv"), 8.0);
  EXPECT_EQ(written(read_model_spec(dir_.string())).at("clip_qkv"), 8.0);
  clipped.replace(clipped.find(R"("clip_qkv": 8.0)"), 15, R"("clip_qkv": -1.0)");
  EXPECT_NE(error(clipped).find("field 'clip_qkv': must be > 0 or null"), std::string::npos);
}

// facebook/opt-1.3b's config.json (the paper's OPT) and opt-350m's differences.
TEST_F(HfConfig, Opt13bAnd350mConfigs) {
  const std::string cfg = R"({"_remove_final_layer_norm": false, "activation_dropout": 0.0,
    "activation_function": "relu", "architectures": ["OPTForCausalLM"], "attention_dropout": 0.0,
    "bos_token_id": 2, "do_layer_norm_before": true, "dropout": 0.1, "eos_token_id": 2,
    "ffn_dim": 8192, "hidden_size": 2048, "init_std": 0.02, "layerdrop": 0.0,
    "max_position_embeddings": 2048, "model_type": "opt", "num_attention_heads": 32,
    "num_hidden_layers": 24, "pad_token_id": 1, "prefix": "</s>", "torch_dtype": "float16",
    "use_cache": true, "vocab_size": 50272, "word_embed_proj_dim": 2048})";
  ModelSpec s = read(cfg);
  EXPECT_EQ(s.model_type, "opt");
  EXPECT_EQ(s.hidden_size, 2048);
  EXPECT_EQ(s.intermediate_size, 8192);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.hidden_act, "relu");
  EXPECT_TRUE(s.tie_word_embeddings);  // OPTConfig's default
  const nlohmann::json own = written(s);  // OPTConfig's defaults
  EXPECT_EQ(own.at("enable_bias"), true);
  EXPECT_EQ(own.at("do_layer_norm_before"), true);
  EXPECT_EQ(own.at("layer_norm_elementwise_affine"), true);
  EXPECT_EQ(embedding_dim(s), 2048);
  EXPECT_EQ(s.bos_token_id, 2);

  std::string m350 = cfg;
  auto set = [&](const std::string& from, const std::string& to) {
    ASSERT_NE(m350.find(from), std::string::npos) << from;
    m350.replace(m350.find(from), from.size(), to);
  };
  set(R"("do_layer_norm_before": true)", R"("do_layer_norm_before": false)");
  set(R"("word_embed_proj_dim": 2048)", R"("word_embed_proj_dim": 512)");
  s = read(m350);
  EXPECT_EQ(embedding_dim(s), 512);
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("ffn_dim"), 8192);
  EXPECT_EQ(j.at("do_layer_norm_before"), false);
  EXPECT_EQ(j.at("word_embed_proj_dim"), 512);
  EXPECT_EQ(j.at("architectures").at(0), "OPTForCausalLM");
  ModelSpec back = read_model_spec(dir_.string());
  EXPECT_EQ(written(back).at("do_layer_norm_before"), false);
  EXPECT_EQ(embedding_dim(back), 512);

  set(R"("word_embed_proj_dim": 512)", R"("word_embed_proj_dim": null)");
  EXPECT_EQ(embedding_dim(read(m350)), 2048);  // null: hidden_size, as OPTConfig
  set(R"("_remove_final_layer_norm": false)", R"("_remove_final_layer_norm": true)");
  EXPECT_NE(error(m350).find("field '_remove_final_layer_norm': true is not supported"), std::string::npos);
  std::string no_ffn = cfg;
  no_ffn.replace(no_ffn.find(R"("ffn_dim": 8192)"), 15, R"("ffn_dim": 0)");
  EXPECT_NE(error(no_ffn).find("field 'ffn_dim': must be > 0"), std::string::npos) << error(no_ffn);
}

// allenai/OLMo-2-1124-7B's config.json.
TEST_F(HfConfig, Olmo2Config) {
  const std::string cfg = R"({"architectures": ["Olmo2ForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "eos_token_id": 100257, "hidden_act": "silu", "hidden_size": 4096,
    "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
    "model_type": "olmo2", "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 32, "pad_token_id": 100277, "rms_norm_eps": 1e-06, "rope_scaling": null,
    "rope_theta": 500000, "tie_word_embeddings": false, "torch_dtype": "float32",
    "use_cache": true, "vocab_size": 100352})";
  ModelSpec s = read(cfg);
  EXPECT_EQ(s.model_type, "olmo2");
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(s.rope_theta, 500000);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_FALSE(s.bos_token_id.has_value());
  EXPECT_EQ(written(s).at("attention_bias"), false);
  std::string no_eps = cfg;
  no_eps.replace(no_eps.find(R"("rms_norm_eps": 1e-06, )"), 22, "");
  EXPECT_DOUBLE_EQ(read(no_eps).norm_eps, 1e-5);  // Olmo2Config's default, not Llama's
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("architectures").at(0), "Olmo2ForCausalLM");
  ModelSpec back = read_model_spec(dir_.string());
  EXPECT_EQ(back.num_kv_heads, 32);
}

// google/gemma-2-2b's config.json (hidden_act beside hidden_activation, as published).
TEST_F(HfConfig, Gemma2HubConfig) {
  const std::string head = R"({"architectures": ["Gemma2ForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": 1,
    "head_dim": 256, "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 2304, "initializer_range": 0.02, "intermediate_size": 9216, "max_position_embeddings": 8192,
    "model_type": "gemma2", "num_attention_heads": 8, "num_hidden_layers": 26, "num_key_value_heads": 4,
    "pad_token_id": 0, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "torch_dtype": "float32",
    "use_cache": true, "vocab_size": 256000, )";
  const std::string cfg = head + R"("attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
    "query_pre_attn_scalar": 256, "sliding_window": 4096})";
  ModelSpec s = read(cfg);
  EXPECT_EQ(s.model_type, "gemma2");
  EXPECT_EQ(s.head_dim, 256);
  EXPECT_EQ(s.num_kv_heads, 4);
  EXPECT_EQ(s.hidden_act, "gelu_pytorch_tanh");
  EXPECT_TRUE(s.tie_word_embeddings);  // Gemma2Config's default
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-6);
  std::vector<int64_t> alternating;
  for (int i = 0; i < 26; ++i) alternating.push_back(i % 2 == 0 ? 4096 : 0);
  EXPECT_EQ(s.layer_windows, alternating);  // even layers slide
  EXPECT_EQ(max_sliding_window(s), 4096);
  // Gemma's own fields live with the family: they come back through config.json.
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("architectures").at(0), "Gemma2ForCausalLM");
  EXPECT_EQ(j.at("query_pre_attn_scalar"), 256);
  EXPECT_EQ(j.at("attn_logit_softcapping"), 50.0);
  EXPECT_EQ(j.at("final_logit_softcapping"), 30.0);
  EXPECT_EQ(j.at("layer_types").at(0), "sliding_attention");
  EXPECT_EQ(j.at("layer_types").at(1), "full_attention");
  EXPECT_EQ(read_model_spec(dir_.string()).layer_windows, alternating);
  // Absent caps are Gemma2Config's defaults (50, 30); null caps are none.
  nlohmann::json absent = nlohmann::json::parse(head + R"("sliding_window": 4096})");
  read(absent.dump());
  write_model_spec(read(absent.dump()), dir_.string());
  j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("attn_logit_softcapping"), 50.0);
  EXPECT_EQ(j.at("query_pre_attn_scalar"), 256);
  write_model_spec(read(head + R"("attn_logit_softcapping": null, "final_logit_softcapping": null})"), dir_.string());
  j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_TRUE(j.at("attn_logit_softcapping").is_null() && j.at("final_logit_softcapping").is_null());

  // Errors name the field.
  EXPECT_NE(error(head + R"("sliding_window": null})").find("field 'sliding_window': null"), std::string::npos);
  EXPECT_NE(error(head + R"("query_pre_attn_scalar": 0})").find("field 'query_pre_attn_scalar': must be > 0"),
            std::string::npos);
  EXPECT_NE(error(head + R"("attn_logit_softcapping": -1})").find("field 'attn_logit_softcapping': must be > 0"),
            std::string::npos);
  EXPECT_NE(error(head + R"("use_bidirectional_attention": true})").find("field 'use_bidirectional_attention'"),
            std::string::npos);
  std::string types = error(head + R"("layer_types": ["sliding_attention", "chunked_attention"]})");
  EXPECT_NE(types.find("field 'layer_types': expected a list of 26 layer types"), std::string::npos) << types;
  std::string act = error(head + R"("hidden_activation": "gelu_quick"})");
  EXPECT_NE(act.find("field 'hidden_activation': unsupported activation 'gelu_quick'"), std::string::npos) << act;
}

// google/gemma-3-1b-pt's config.json (transformers 4.x spelling), then transformers 5's nested
// rope_parameters.
TEST_F(HfConfig, Gemma3TextConfig) {
  const std::string head = R"({"architectures": ["Gemma3ForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "attn_logit_softcapping": null, "bos_token_id": 2, "cache_implementation": "hybrid",
    "eos_token_id": 1, "final_logit_softcapping": null, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 1152, "initializer_range": 0.02, "intermediate_size": 6912, "max_position_embeddings": 32768,
    "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1,
    "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "sliding_window": 512,
    "torch_dtype": "bfloat16", "use_cache": true, "vocab_size": 262144, )";
  ModelSpec s = read(head + R"("rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000,
    "sliding_window_pattern": 6})");
  EXPECT_EQ(s.model_type, "gemma3_text");
  EXPECT_EQ(s.num_kv_heads, 1);
  EXPECT_DOUBLE_EQ(s.rope_theta, 1e6);  // the full layers' base
  EXPECT_FALSE(s.rope_scaling.has_value());
  ASSERT_EQ(s.layer_windows.size(), 26u);
  for (size_t i = 0; i < 26; ++i) EXPECT_EQ(s.layer_windows[i], (i + 1) % 6 != 0 ? 512 : 0) << "layer " << i;
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("rope_local_base_freq"), 10000.0);
  EXPECT_EQ(j.at("rope_theta"), 1e6);
  EXPECT_EQ(j.at("layer_types").at(5), "full_attention");
  EXPECT_EQ(read_model_spec(dir_.string()).layer_windows, s.layer_windows);

  // transformers 5: one rope entry per layer type (Gemma-3 4B+: linear 8 on the full layers).
  const std::string nested = head + R"("rope_parameters": {"full_attention": {"rope_type": "linear",
    "factor": 8.0, "rope_theta": 1000000.0}, "sliding_attention": {"rope_type": "linear", "factor": 2.0,
    "rope_theta": 10000.0}}})";
  ModelSpec n = read(nested);
  ASSERT_TRUE(n.rope_scaling.has_value());
  EXPECT_EQ(n.rope_scaling->rope_type, "linear");
  EXPECT_DOUBLE_EQ(n.rope_scaling->factor, 8.0);
  write_model_spec(n, dir_.string());  // a scaled local rope has no 4.x spelling: nested written
  j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("rope_parameters").at("sliding_attention").at("factor"), 2.0);
  EXPECT_EQ(j.at("rope_parameters").at("full_attention").at("rope_theta"), 1e6);
  EXPECT_DOUBLE_EQ(read_model_spec(dir_.string()).rope_scaling->factor, 8.0);

  std::string flat = error(head + R"("rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}})");
  EXPECT_NE(flat.find("field 'rope_parameters': expected {\"full_attention\""), std::string::npos) << flat;
  std::string type = error(head + R"("rope_parameters": {"full_attention": {"rope_type": "dynamic", "factor": 2.0}}})");
  EXPECT_NE(type.find("rope_parameters.full_attention: field 'rope_type': 'dynamic' is not supported"),
            std::string::npos) << type;
}

// state-spaces/mamba-130m-hf's config.json: attention-free, so no heads and no position limit.
TEST_F(HfConfig, MambaHubConfig) {
  const std::string head = R"({"architectures": ["MambaForCausalLM"], "bos_token_id": 0, "conv_kernel": 4,
    "eos_token_id": 0, "expand": 2, "fused_add_norm": true, "hidden_act": "silu", "hidden_size": 768,
    "initializer_range": 0.1, "intermediate_size": 1536, "layer_norm_epsilon": 1e-05, "model_type": "mamba",
    "n_layer": 24, "num_hidden_layers": 24, "pad_token_id": 0, "rescale_prenorm_residual": false,
    "residual_in_fp32": true, "rms_norm": true, "state_size": 16, "time_step_floor": 0.0001,
    "time_step_init_scheme": "random", "time_step_max": 0.1, "time_step_min": 0.001, "time_step_scale": 1.0,
    "torch_dtype": "float32", "use_bias": false, "use_cache": true, "use_conv_bias": true,
    "vocab_size": 50280, )";
  ModelSpec s = read(head + R"("time_step_rank": 48})");
  EXPECT_EQ(s.model_type, "mamba");
  EXPECT_EQ(s.hidden_size, 768);
  EXPECT_EQ(s.num_layers, 24);
  EXPECT_EQ(s.intermediate_size, 1536);  // expand * hidden_size
  EXPECT_EQ(s.num_heads, 0);
  EXPECT_EQ(s.max_position_embeddings, 0);  // no position limit
  EXPECT_TRUE(s.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("architectures").at(0), "MambaForCausalLM");
  EXPECT_EQ(j.at("state_size"), 16);
  EXPECT_EQ(j.at("time_step_rank"), 48);
  EXPECT_EQ(j.at("conv_kernel"), 4);
  EXPECT_EQ(j.at("residual_in_fp32"), true);
  EXPECT_EQ(read_model_spec(dir_.string()).intermediate_size, 1536);
  // "auto" is ceil(hidden_size / 16), as MambaConfig computes it.
  write_model_spec(read(head + R"("time_step_rank": "auto"})"), dir_.string());
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(file())).at("time_step_rank"), 48);

  EXPECT_NE(error(head + R"("time_step_rank": "fast"})").find("field 'time_step_rank': expected an integer or \"auto\""),
            std::string::npos);
  EXPECT_NE(error(head + R"("state_size": 0})").find("field 'state_size': must be > 0"), std::string::npos);
  std::string act = error(head + R"("hidden_act": "gelu"})");
  EXPECT_NE(act.find("field 'hidden_act': 'gelu' is not supported for mamba"), std::string::npos) << act;
}

// microsoft/Phi-3-mini-128k-instruct's config.json (48 longrope factors each for head_dim 96).
TEST_F(HfConfig, Phi3LongropeConfig) {
  std::string shorts, longs;
  for (int i = 0; i < 48; ++i) {
    shorts += (i ? ", " : "") + std::to_string(1.0 + 0.01 * i);
    longs += (i ? ", " : "") + std::to_string(1.0 + 1.5 * i);
  }
  const std::string head = R"({"architectures": ["Phi3ForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": 1, "embd_pdrop": 0.0, "eos_token_id": 32000,
    "hidden_act": "silu", "hidden_size": 3072, "initializer_range": 0.02, "intermediate_size": 8192,
    "max_position_embeddings": 131072, "model_type": "phi3", "num_attention_heads": 32,
    "num_hidden_layers": 32, "num_key_value_heads": 32, "original_max_position_embeddings": 4096,
    "pad_token_id": 32000, "resid_pdrop": 0.0, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
    "sliding_window": 262144, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
    "use_cache": true, "vocab_size": 32064, )";
  const std::string cfg = head + R"("rope_scaling": {"long_factor": [)" + longs + R"(], "short_factor": [)" +
                          shorts + R"(], "type": "longrope"}})";
  ModelSpec s = read(cfg);
  EXPECT_EQ(s.model_type, "phi3");
  EXPECT_EQ(s.head_dim, 96);
  ASSERT_TRUE(s.rope_scaling.has_value());
  const RopeScaling& r = *s.rope_scaling;
  EXPECT_EQ(r.rope_type, "longrope");
  EXPECT_EQ(r.original_max_position_embeddings, 4096);
  ASSERT_EQ(r.short_factor.size(), 48u);
  EXPECT_DOUBLE_EQ(r.long_factor[2], 4.0);
  // transformers' default: sqrt(1 + ln(131072 / 4096) / ln(4096)).
  EXPECT_NEAR(r.attention_factor, std::sqrt(1 + std::log(32.0) / std::log(4096.0)), 1e-12);
  EXPECT_EQ(s.layer_windows, std::vector<int64_t>(32, 262144));
  write_model_spec(s, dir_.string());
  ModelSpec back = read_model_spec(dir_.string());
  ASSERT_TRUE(back.rope_scaling.has_value());
  EXPECT_EQ(back.rope_scaling->long_factor, r.long_factor);
  EXPECT_DOUBLE_EQ(back.rope_scaling->attention_factor, r.attention_factor);
  // Without the top-level field, Phi3Config's 4096 holds, even over the rope object's own
  // (transformers 5.17 overwrites it): the same attention factor.
  std::string absent = cfg;
  absent.replace(absent.find(R"("original_max_position_embeddings": 4096,)"), 41, "");
  absent.replace(absent.find(R"("type": "longrope")"), 18, R"("type": "longrope", "original_max_position_embeddings": 8192)");
  ModelSpec a = read(absent);
  EXPECT_EQ(a.rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_NEAR(a.rope_scaling->attention_factor, r.attention_factor, 1e-12);
  EXPECT_EQ(back.rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_EQ(back.layer_windows, s.layer_windows);

  // A factor list of the wrong length names the field and the length expected.
  const std::string bad = head + R"("rope_scaling": {"long_factor": [1.0, 2.0], "short_factor": [)" + shorts +
                          R"(], "type": "longrope"}})";
  EXPECT_NE(error(bad).find("field 'long_factor': expected a list of 48 numbers"), std::string::npos) << error(bad);
  // Sizes that would overflow the rotated-dims count are refused before it is computed.
  const std::string huge = head + R"("partial_rotary_factor": 1e308, "rope_scaling": {"long_factor": [1.0],
    "short_factor": [1.0], "type": "longrope"}})";
  EXPECT_NE(error(huge).find("longrope needs head_dim in 1..2^20 and partial_rotary_factor in (0, 1]"),
            std::string::npos) << error(huge);
  const std::string unknown = head + R"("rope_scaling": {"factor": 4.0, "type": "yarn"}})";
  EXPECT_NE(error(unknown).find("'yarn' is not supported"), std::string::npos) << error(unknown);
}

TEST_F(HfConfig, SlidingWindowsRoundTrip) {
  ModelSpec s = read(kQwen25);
  s.layer_windows.assign(24, 0);
  s.layer_windows[20] = s.layer_windows[23] = 512;  // not a suffix: layer_types carries it
  write_model_spec(s, dir_.string());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file()));
  EXPECT_EQ(j.at("use_sliding_window"), true);
  EXPECT_EQ(j.at("sliding_window"), 512);
  EXPECT_EQ(j.at("max_window_layers"), 20);
  EXPECT_EQ(j.at("layer_types").at(21), "full_attention");
  EXPECT_EQ(read_model_spec(dir_.string()).layer_windows, s.layer_windows);

  s.layer_windows[23] = 256;  // two windows: these config.json dialects have one
  EXPECT_THROW(write_model_spec(s, dir_.string()), ModelLoadError);
  s.model_type = "mistral";
  s.layer_windows.assign(24, 0);
  s.layer_windows[3] = 512;  // mistral slides every layer or none
  EXPECT_THROW(write_model_spec(s, dir_.string()), ModelLoadError);
}

}  // namespace
}  // namespace crammer
