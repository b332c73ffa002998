// Config contract: DESIGN §6 key names and defaults, overrides, the YAML round trip, and one
// clear ConfigError per bad input naming the file, the key path and what was expected.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crammer/config/loader.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using crammer::ConfigError;
using crammer::ExperimentConfig;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "model");
    // A llama config.json written by hand, independent of crammer's own writer.
    write(dir_ / "model" / "config.json", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
      "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 2, "intermediate_size": 128, "max_position_embeddings": 256,
      "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": true})");
    write(dir_ / "corpus.txt", "It was a truth. Another sentence here.\n");
    write(dir_ / "words.txt", "apple\nbanana\n");
  }

  static void write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
  }

  // A complete valid config; tests append or replace lines.
  std::string base() const {
    return "models:\n"
           "  - name: tiny\n"
           "    path: " + (dir_ / "model").string() + "\n"
           "    dtype: f32\n"
           "corpus:\n"
           "  format: text\n"
           "  paths: [" + (dir_ / "corpus.txt").string() + "]\n"
           "  samples: 4\n"
           "cram:\n"
           "  n_mem: [1, 2]\n"
           "  lengths: [8, 16]\n"
           "output:\n"
           "  path: " + (dir_ / "out.h5").string() + "\n";
  }

  fs::path file(const std::string& text) const {
    fs::path p = dir_ / "exp.yaml";
    write(p, text);
    return p;
  }

  // Loads TEXT and returns the ConfigError message; fails the test if none is thrown.
  std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
    fs::path p = file(text);
    try {
      crammer::load_config(p.string(), overrides);
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return "";
  }

  // A key added after results files first stored fingerprints: the base config's fingerprint
  // changes when `field` is set to `off` and is the same again at the field's default.
  template <typename Field, typename Value>
  void expect_fingerprint_counts_only_off_default(const Field& field, const Value& off) {
    ExperimentConfig c = crammer::load_config(file(base()).string());
    const std::string fp = crammer::config_fingerprint(c);
    const auto def = field(c);
    field(c) = off;
    EXPECT_NE(crammer::config_fingerprint(c), fp);
    field(c) = def;
    EXPECT_EQ(crammer::config_fingerprint(c), fp);
  }

  crammer::test::TempDir tmp_{"config"};
  fs::path dir_ = tmp_.root();
};

TEST_F(ConfigTest, DefaultsMatchDesign) {
  ExperimentConfig c = crammer::load_config(file(base()).string());
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].name, "tiny");
  EXPECT_EQ(c.corpus.text_kind, std::vector<std::string>{"natural"});
  EXPECT_EQ(c.cram.search, "grid");
  EXPECT_FALSE(c.cram.predict_first_token);
  EXPECT_DOUBLE_EQ(c.cram.optimizer.lr, 0.01);
  EXPECT_DOUBLE_EQ(c.cram.optimizer.beta1, 0.9);
  EXPECT_DOUBLE_EQ(c.cram.optimizer.beta2, 0.9);
  EXPECT_DOUBLE_EQ(c.cram.optimizer.weight_decay, 0.01);
  EXPECT_EQ(c.cram.optimizer.max_steps, 5000);
  EXPECT_EQ(c.cram.optimizer.patience, 2000);
  EXPECT_DOUBLE_EQ(c.cram.optimizer.target_accuracy, 1.0);
  EXPECT_EQ(c.batching.batch_size, 16);
  EXPECT_EQ(c.runtime.device, "cpu");
  EXPECT_EQ(c.runtime.threads, 2);
  EXPECT_FALSE(c.output.save_memory);
  EXPECT_EQ(c.output.curves_every, 0);
  EXPECT_EQ(c.cram.n_mem, (std::vector<int64_t>{1, 2}));
}

TEST_F(ConfigTest, EveryDesignKeyIsKnown) {
  auto keys = crammer::config_keys();
  for (const char* k : {"models.N.name", "models.N.path", "models.N.dtype", "corpus.format", "corpus.paths",
                        "corpus.text_kind", "corpus.word_list", "corpus.samples", "corpus.seed", "cram.n_mem",
                        "cram.lengths", "cram.search", "cram.predict_first_token", "cram.optimizer.lr",
                        "cram.optimizer.beta1", "cram.optimizer.beta2", "cram.optimizer.weight_decay",
                        "cram.optimizer.max_steps", "cram.optimizer.patience", "cram.optimizer.target_accuracy",
                        "batching.batch_size", "runtime.device", "runtime.threads", "runtime.seed", "output.path",
                        "output.save_memory", "output.curves_every"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  }
}

TEST_F(ConfigTest, TypedOverrides) {
  ExperimentConfig c = crammer::load_config(
      file(base()).string(), {"cram.n_mem=[1,2,4]", "cram.optimizer.lr=0.005", "cram.predict_first_token=true",
                              "models.0.dtype=bf16", "batching.batch_size=8", "corpus.seed=7",
                              "output.path=" + (dir_ / "other.h5").string()});
  EXPECT_EQ(c.cram.n_mem, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_DOUBLE_EQ(c.cram.optimizer.lr, 0.005);
  EXPECT_TRUE(c.cram.predict_first_token);
  EXPECT_EQ(c.models[0].dtype, "bf16");
  EXPECT_EQ(c.batching.batch_size, 8);
  EXPECT_EQ(c.corpus.seed, 7u);
  EXPECT_EQ(c.output.path, (dir_ / "other.h5").string());
}

TEST_F(ConfigTest, OverrideCanAddAModel) {
  ExperimentConfig c = crammer::load_config(
      file(base()).string(),
      {"models.1.name=second", "models.1.path=" + (dir_ / "model").string(), "models.1.dtype=f32"});
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[1].name, "second");
}

TEST_F(ConfigTest, PrintedConfigRoundTrips) {
  ExperimentConfig c = crammer::load_config(file(base()).string(), {"cram.optimizer.lr=0.005", "corpus.word_list=" + (dir_ / "words.txt").string()});
  std::string once = crammer::to_yaml(c);
  ExperimentConfig again = crammer::load_config(file(once).string());
  EXPECT_EQ(crammer::to_yaml(again), once);
  EXPECT_EQ(crammer::config_fingerprint(again), crammer::config_fingerprint(c));
  EXPECT_DOUBLE_EQ(again.cram.optimizer.lr, 0.005);
}

// --print-config and the stored config_yaml say 0.05, not 0.050000000000000003; the fingerprint
// keeps its 17-digit text, so results files written before still resume. 32b26468b1712bfc is
// what crammer wrote into a results file for this config before floats were shortened.
TEST_F(ConfigTest, PrintedFloatsAreShortestAndTheFingerprintIsUnchanged) {
  const std::vector<std::string> overrides = {"cram.optimizer.max_steps=1", "corpus.samples=1", "cram.n_mem=[1]",
                                              "cram.lengths=[16]"};
  const ExperimentConfig c = crammer::load_config(std::string(CRAMMER_SOURCE_DIR) + "/experiments/quickstart.yaml",
                                                  overrides, {false});
  const std::string text = crammer::to_yaml(c);
  EXPECT_THAT(text, HasSubstr("lr: 0.05\n"));
  EXPECT_THAT(text, HasSubstr("eps: 1e-08\n"));
  EXPECT_THAT(text, HasSubstr("target_accuracy: 1.0\n"));
  EXPECT_THAT(text, HasSubstr("heartbeat_seconds: 10.0\n"));  // not 1e+01
  EXPECT_THAT(text, HasSubstr("worker_timeout_seconds: 120.0\n"));
  EXPECT_EQ(crammer::config_fingerprint(c), "32b26468b1712bfc");
  ExperimentConfig odd = c;
  odd.cram.optimizer.lr = 0.1 + 0.2;  // no shorter text than 17 digits reads back as this double
  EXPECT_THAT(crammer::to_yaml(odd), HasSubstr("lr: 0.30000000000000004\n"));
}

TEST_F(ConfigTest, StringsThatLookLikeOtherTypesRoundTrip) {
  ExperimentConfig c = crammer::load_config(file(base()).string(), {"models.0.name=123", "corpus.text_field=true"});
  EXPECT_EQ(c.models[0].name, "123");
  ExperimentConfig again = crammer::load_config(file(crammer::to_yaml(c)).string());
  EXPECT_EQ(again.models[0].name, "123");
  EXPECT_EQ(again.corpus.text_field, "true");
}

TEST_F(ConfigTest, FingerprintIgnoresRuntimeButNotCram) {
  ExperimentConfig a = crammer::load_config(file(base()).string());
  ExperimentConfig b = crammer::load_config(file(base()).string(), {"runtime.threads=1", "batching.batch_size=4"});
  ExperimentConfig d = crammer::load_config(file(base()).string(), {"cram.optimizer.lr=0.02"});
  EXPECT_EQ(crammer::config_fingerprint(a), crammer::config_fingerprint(b));
  EXPECT_NE(crammer::config_fingerprint(a), crammer::config_fingerprint(d));
}

// ---- bad configs: each names the file, the key path and what was expected ----

TEST_F(ConfigTest, UnknownTopLevelKeySuggests) {
  std::string m = error_of(base() + "bataching:\n  batch_size: 2\n");
  EXPECT_THAT(m, HasSubstr("exp.yaml"));
  EXPECT_THAT(m, HasSubstr("unknown key 'bataching'"));
  EXPECT_THAT(m, HasSubstr("did you mean 'batching'"));
}

TEST_F(ConfigTest, UnknownNestedKeySuggests) {
  std::string m = error_of(base() + "runtime:\n  thraeds: 2\n");
  EXPECT_THAT(m, HasSubstr("unknown key 'runtime.thraeds'"));
  EXPECT_THAT(m, HasSubstr("did you mean 'runtime.threads'"));
  EXPECT_THAT(m, HasSubstr("exp.yaml:"));
}

TEST_F(ConfigTest, UnknownOptimizerKey) {
  std::string m = error_of(base(), {"cram.optimizer.learning_rate=0.1"});
  EXPECT_THAT(m, HasSubstr("unknown key 'cram.optimizer.learning_rate'"));
  EXPECT_THAT(m, HasSubstr("command-line override 'cram.optimizer.learning_rate=0.1'"));
}

TEST_F(ConfigTest, UnknownModelKey) {
  std::string m = error_of(base(), {"models.0.dtpye=f32"});
  EXPECT_THAT(m, HasSubstr("unknown key 'models.0.dtpye'"));
  EXPECT_THAT(m, HasSubstr("did you mean 'models.0.dtype'"));
}

TEST_F(ConfigTest, WrongTypeNumber) {
  std::string m = error_of(base(), {"cram.optimizer.lr=fast"});
  EXPECT_THAT(m, HasSubstr("cram.optimizer.lr: expected a number, got 'fast'"));
}

TEST_F(ConfigTest, WrongTypeIntegerInList) {
  std::string m = error_of(base(), {"cram.n_mem=[1,two]"});
  EXPECT_THAT(m, HasSubstr("cram.n_mem[1]: expected an integer, got 'two'"));
  // The bad element came from the command line, not from the file.
  EXPECT_THAT(m, HasSubstr("command-line override 'cram.n_mem=[1,two]'"));
  EXPECT_THAT(m, Not(HasSubstr("exp.yaml")));
}

// yaml-cpp would keep the first of two equal keys and drop the second silently.
TEST_F(ConfigTest, DuplicateKeysNameBothLines) {
  std::string m = error_of(base() + "runtime:\n  seed: 1\n  threads: 2\n  seed: 3\n");
  EXPECT_THAT(m, HasSubstr("exp.yaml:17: runtime.seed: key given twice (first at line 15)"));
  m = error_of(base() + "cram:\n  n_mem: [4]\n");  // a whole section twice
  EXPECT_THAT(m, HasSubstr("exp.yaml:14: cram: key given twice (first at line 9)"));
  m = error_of("models:\n  - name: a\n    path: x\n    name: b\n");
  EXPECT_THAT(m, HasSubstr("exp.yaml:4: models[0].name: key given twice (first at line 2)"));
}

// inf and nan parse as numbers; every float option must be finite.
TEST_F(ConfigTest, FloatOptionsMustBeFinite) {
  for (const char* word : {"cram.optimizer.lr=inf", "cram.optimizer.lr=-inf", "cram.optimizer.eps=nan",
                           "cram.init_std_scale=NAN", "output.flush_seconds=infinity"}) {
    std::string m = error_of(base(), {word});
    EXPECT_THAT(m, HasSubstr("expected a finite number")) << word;
    EXPECT_THAT(m, HasSubstr(std::string("command-line override '") + word + "'")) << word;
  }
  std::string text = base();
  text.replace(text.find("  lengths: [8, 16]\n"), 18, "  lengths: [8, 16]\n  optimizer:\n    lr: inf\n");
  EXPECT_THAT(error_of(text), HasSubstr("exp.yaml:13: cram.optimizer.lr: expected a finite number, got 'inf'"));
}

// Worker liveness: a timeout must leave room for heartbeats; 0 turns it off. Neither changes
// the fingerprint (a rerun with another timeout resumes the same file).
// Overrides that walk into a scalar (found by fuzz_config: yaml-cpp's own exception escaped).
TEST_F(ConfigTest, OverrideThroughAScalarNamesTheOverride) {
  std::string m = error_of(base(), {"models.0.name.first=x"});
  EXPECT_THAT(m, HasSubstr("command-line override 'models.0.name.first=x': 'first' names a key, but what holds it is"));
  m = error_of(base(), {"cram.n_mem.k.z=1"});
  EXPECT_THAT(m, HasSubstr("command-line override 'cram.n_mem.k.z=1': 'k' names a key"));
  m = error_of(base(), {"models.99999999999999999999.name=x"});
  EXPECT_THAT(m, HasSubstr("list index 99999999999999999999 is too large"));
}

TEST_F(ConfigTest, WorkerTimeoutMustExceedTheHeartbeat) {
  const auto c = crammer::load_config(file(base()).string(), {"runtime.worker_timeout_seconds=0"});
  EXPECT_EQ(c.runtime.worker_timeout_seconds, 0.0);
  EXPECT_EQ(c.runtime.heartbeat_seconds, 10.0);
  EXPECT_EQ(crammer::config_fingerprint(c), crammer::config_fingerprint(crammer::load_config(file(base()).string())));
  std::string m = error_of(base(), {"runtime.heartbeat_seconds=5", "runtime.worker_timeout_seconds=5"});
  EXPECT_THAT(m, HasSubstr("runtime.worker_timeout_seconds: must be 0 (never) or more than "
                           "runtime.heartbeat_seconds (5), got 5"));
  EXPECT_THAT(error_of(base(), {"runtime.heartbeat_seconds=0"}), HasSubstr("runtime.heartbeat_seconds: must be > 0"));
}

TEST_F(ConfigTest, WrongTypeBoolean) {
  std::string m = error_of(base(), {"cram.predict_first_token=maybe"});
  EXPECT_THAT(m, HasSubstr("cram.predict_first_token: expected true or false, got 'maybe'"));
}

TEST_F(ConfigTest, AddBosIsAutoTrueOrFalse) {
  EXPECT_EQ(crammer::load_config(file(base()).string()).corpus.add_bos, "auto");
  EXPECT_EQ(crammer::load_config(file(base()).string(), {"corpus.add_bos=true"}).corpus.add_bos, "true");
  std::string m = error_of(base(), {"corpus.add_bos=yes"});
  EXPECT_THAT(m, HasSubstr("corpus.add_bos"));
  EXPECT_THAT(m, HasSubstr("auto | true | false"));
  m = error_of(base(), {"corpus.format=token-ids", "corpus.add_bos=true"});
  EXPECT_THAT(m, HasSubstr("corpus.add_bos: true needs a tokenizer's BOS"));
}

TEST_F(ConfigTest, SectionIsNotAMapping) {
  std::string m = error_of(base() + "runtime: 3\n");
  EXPECT_THAT(m, HasSubstr("exp.yaml:"));
  EXPECT_THAT(m, HasSubstr("runtime: expected a mapping of keys, got '3'"));
}

TEST_F(ConfigTest, ModelsNotAList) {
  std::string m = error_of("models: {name: x}\n");
  EXPECT_THAT(m, HasSubstr("models: expected a list of models"));
}

TEST_F(ConfigTest, OutOfRangeLearningRate) {
  std::string m = error_of(base(), {"cram.optimizer.lr=-1"});
  EXPECT_THAT(m, HasSubstr("cram.optimizer.lr: must be > 0, got -1"));
}

TEST_F(ConfigTest, OutOfRangeBeta) {
  std::string m = error_of(base(), {"cram.optimizer.beta2=1.5"});
  EXPECT_THAT(m, HasSubstr("cram.optimizer.beta2: must be in [0, 1), got 1.5"));
}

TEST_F(ConfigTest, OutOfRangeTargetAccuracy) {
  std::string m = error_of(base(), {"cram.optimizer.target_accuracy=0"});
  EXPECT_THAT(m, HasSubstr("cram.optimizer.target_accuracy: must be in (0, 1]"));
}

TEST_F(ConfigTest, RestartsAreCountedAndExcludeAFixedInit) {
  EXPECT_THAT(error_of(base(), {"cram.restarts=0"}), HasSubstr("cram.restarts: must be >= 1, got 0"));
  EXPECT_THAT(error_of(base(), {"cram.restarts=2", "cram.init_mem=init.safetensors"}),
              HasSubstr("cram.restarts: draws independent inits; cram.init_mem gives each task one fixed init"));
  for (const char* search : {"progressive", "bisect"})
    EXPECT_THAT(error_of(base(), {"cram.restarts=3", std::string("cram.search=") + search}),
                HasSubstr(std::string("cram.restarts: independent inits are defined for grid tasks (each length from "
                                      "its own init); cram.search ") + search + " runs one search per sample"));
  EXPECT_NO_THROW(crammer::load_config(file(base()).string(), {"cram.restarts=1", "cram.search=progressive"}));
  // One restart (the default) leaves the fingerprint of files written before the key existed.
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> int64_t& { return c.cram.restarts; }, 2);
  const ExperimentConfig c = crammer::load_config(file(base()).string());
  EXPECT_NE(crammer::to_yaml(c).find("  restarts: 1\n"), std::string::npos);  // still printed
}

// cram.init: each kind, and what it cannot go with; the default keeps old fingerprints.
TEST_F(ConfigTest, InitKindsAndTheirConflicts) {
  for (const char* kind : {"randn", "uniform", "vocab_gaussian", "text_mean"})
    EXPECT_NO_THROW(crammer::load_config(file(base()).string(), {std::string("cram.init=") + kind})) << kind;
  EXPECT_THAT(error_of(base(), {"cram.init=zeros"}), HasSubstr("cram.init"));
  EXPECT_THAT(error_of(base(), {"cram.init=file"}),
              HasSubstr("cram.init: file starts each task from cram.init_mem, which is not set"));
  EXPECT_THAT(error_of(base(), {"cram.init=uniform", "cram.init_mem=init.safetensors"}),
              HasSubstr("cram.init: uniform draws each start; cram.init_mem gives them"));
  EXPECT_THAT(error_of(base(), {"cram.init=text_mean", "cram.mem_rank=4"}),
              HasSubstr("cram.init: text_mean starts full [k, d] vectors; cram.mem_rank 4"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> std::string& { return c.cram.init; },
                                             std::string("uniform"));
}

// cram.optimizer.schedule, warmup_steps, min_lr: ranges, and fingerprints unchanged at defaults.
TEST_F(ConfigTest, LearningRateScheduleKeys) {
  EXPECT_NO_THROW(crammer::load_config(file(base()).string(),
                                       {"cram.optimizer.schedule=cosine", "cram.optimizer.warmup_steps=10",
                                        "cram.optimizer.min_lr=0.001"}));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.schedule=linear"}), HasSubstr("cram.optimizer.schedule"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.warmup_steps=-1"}),
              HasSubstr("cram.optimizer.warmup_steps: must be >= 0, got -1"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.max_steps=5", "cram.optimizer.patience=5",
                                "cram.optimizer.warmup_steps=6"}),
              HasSubstr("cram.optimizer.warmup_steps: 6 > cram.optimizer.max_steps 5"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.schedule=cosine", "cram.optimizer.min_lr=0.5"}),
              HasSubstr("cram.optimizer.min_lr: must be in [0, cram.optimizer.lr = 0.01], got 0.5"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.min_lr=0.001"}),
              HasSubstr("cram.optimizer.min_lr: is the floor of schedule cosine; schedule is constant"));
  expect_fingerprint_counts_only_off_default(
      [](ExperimentConfig& c) -> std::string& { return c.cram.optimizer.schedule; }, std::string("cosine"));
  expect_fingerprint_counts_only_off_default(
      [](ExperimentConfig& c) -> int64_t& { return c.cram.optimizer.warmup_steps; }, int64_t{5});
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> double& { return c.cram.optimizer.min_lr; },
                                             0.001);
}

TEST_F(ConfigTest, MemRankIsNonNegativeAndNeedsFreshInits) {
  EXPECT_THAT(error_of(base(), {"cram.mem_rank=-1"}), HasSubstr("cram.mem_rank: must be >= 0, got -1"));
  EXPECT_THAT(error_of(base(), {"cram.mem_rank=8", "cram.search=progressive"}),
              HasSubstr("cram.mem_rank: progressive search starts each probe from the last probe's mem vectors"));
  EXPECT_THAT(error_of(base(), {"cram.mem_rank=8", "cram.init_mem=init.safetensors"}),
              HasSubstr("cram.mem_rank: cram.init_mem gives full [k, d] mem vectors, not (z, W, b) of rank 8"));
  // Rank 0 (the default) leaves the fingerprint of files written before the key existed.
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> int64_t& { return c.cram.mem_rank; }, 16);
}

TEST_F(ConfigTest, PrefixTokensAreCountedAndZeroKeepsTheFingerprint) {
  EXPECT_THAT(error_of(base(), {"corpus.prefix_tokens=-1"}), HasSubstr("corpus.prefix_tokens: must be >= 0, got -1"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> int64_t& { return c.corpus.prefix_tokens; }, 64);
}

TEST_F(ConfigTest, LengthModeIsGridOrUniformWithGridSearch) {
  EXPECT_THAT(error_of(base(), {"cram.length_mode=random"}), HasSubstr("cram.length_mode"));
  EXPECT_THAT(error_of(base(), {"cram.length_mode=uniform", "cram.search=bisect"}),
              HasSubstr("cram.length_mode: uniform draws each sample's length; cram.search bisect searches"));
}

TEST_F(ConfigTest, InContextControlIsGridOnlyAndOffKeepsTheFingerprint) {
  EXPECT_THAT(error_of(base(), {"cram.in_context_control=true", "cram.search=progressive"}),
              HasSubstr("cram.in_context_control: scores each grid row's text in context; cram.search "
                        "progressive chooses its lengths as it goes: use cram.search: grid"));
  EXPECT_THAT(error_of(base(), {"cram.in_context_control=sometimes"}), HasSubstr("cram.in_context_control"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> bool& { return c.cram.in_context_control; },
                                             true);
}

TEST_F(ConfigTest, LossTermsAreCheckedAndDefaultsKeepTheFingerprint) {
  const ExperimentConfig c = crammer::load_config(
      file(base()).string(), {"cram.loss.first_tokens=4", "cram.loss.first_weight=3", "cram.loss.align_alpha=0.1",
                              "cram.loss.align_layers=2", "cram.loss.align_from=last", "cram.loss.align_distance=cosine"});
  EXPECT_EQ(c.cram.loss.first_tokens, 4);
  EXPECT_DOUBLE_EQ(c.cram.loss.first_weight, 3.0);
  EXPECT_DOUBLE_EQ(c.cram.loss.align_alpha, 0.1);
  EXPECT_EQ(c.cram.loss.align_layers, 2);
  EXPECT_EQ(c.cram.loss.align_from, "last");
  EXPECT_EQ(c.cram.loss.align_distance, "cosine");
  EXPECT_THAT(error_of(base(), {"cram.loss.first_tokens=-1"}), HasSubstr("cram.loss.first_tokens: must be >= 0, got -1"));
  EXPECT_THAT(error_of(base(), {"cram.loss.first_weight=2"}),
              HasSubstr("cram.loss.first_weight: weighs the first cram.loss.first_tokens targets, and first_tokens is 0"));
  EXPECT_THAT(error_of(base(), {"cram.loss.first_tokens=2", "cram.loss.first_weight=-1"}),
              HasSubstr("cram.loss.first_weight: must be >= 0"));
  EXPECT_THAT(error_of(base(), {"cram.loss.align_alpha=-0.5"}), HasSubstr("cram.loss.align_alpha: must be >= 0"));
  EXPECT_THAT(error_of(base(), {"cram.loss.align_alpha=1", "cram.loss.align_distance=kl"}),
              HasSubstr("cram.loss.align_distance"));
  EXPECT_THAT(error_of(base(), {"cram.loss.align_alpha=1", "cram.loss.align_from=middle"}),
              HasSubstr("cram.loss.align_from"));
  EXPECT_THAT(error_of(base(), {"cram.loss.align_layers=3"}),
              HasSubstr("cram.loss.align_alpha: is 0, so the alignment term is off"));
  EXPECT_THAT(error_of(base(), {"cram.loss.align_alpha=1", "cram.loss.align_layers=-2"}),
              HasSubstr("cram.loss.align_layers: must be >= 0, got -2"));
  EXPECT_THAT(error_of(base(), {"cram.loss.weight=2"}), HasSubstr("cram.loss.weight"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> int64_t& { return c.cram.loss.first_tokens; },
                                             int64_t{4});
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> double& { return c.cram.loss.align_alpha; },
                                             0.5);
  expect_fingerprint_counts_only_off_default(
      [](ExperimentConfig& c) -> std::string& { return c.cram.loss.align_distance; }, std::string("l1"));
}

TEST_F(ConfigTest, CarryOptimizerIsForProgressiveSearchAndScheduleStepsForCosine) {
  EXPECT_NO_THROW(crammer::load_config(file(base()).string(),
                                       {"cram.search=progressive", "cram.carry_optimizer=true",
                                        "cram.optimizer.schedule=cosine", "cram.optimizer.schedule_steps=900"}));
  EXPECT_THAT(error_of(base(), {"cram.carry_optimizer=true"}),
              HasSubstr("cram.carry_optimizer: carries AdamW from one probe of a progressive search to the next; "
                        "cram.search is grid"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.schedule_steps=50"}),
              HasSubstr("cram.optimizer.schedule_steps: is the length of schedule cosine; schedule is constant"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.schedule=cosine", "cram.optimizer.warmup_steps=20",
                                "cram.optimizer.schedule_steps=20"}),
              HasSubstr("cram.optimizer.schedule_steps: 20 <= cram.optimizer.warmup_steps 20"));
  EXPECT_THAT(error_of(base(), {"cram.optimizer.schedule_steps=-3"}),
              HasSubstr("cram.optimizer.schedule_steps: must be >= 0, got -3"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> bool& { return c.cram.carry_optimizer; },
                                             true);
  EXPECT_NO_THROW(crammer::load_config(file(base()).string(), {"cram.search=progressive", "cram.growth=one_token"}));
  EXPECT_THAT(error_of(base(), {"cram.growth=one_token"}),
              HasSubstr("cram.growth: is how a progressive search grows its text; cram.search is grid"));
  EXPECT_THAT(error_of(base(), {"cram.search=progressive", "cram.growth=triple"}), HasSubstr("cram.growth"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> std::string& { return c.cram.growth; },
                                             std::string("one_token"));
  expect_fingerprint_counts_only_off_default(
      [](ExperimentConfig& c) -> int64_t& { return c.cram.optimizer.schedule_steps; }, int64_t{300});
}

TEST_F(ConfigTest, OneStepIsAChoiceThatExcludesTextPositions) {
  for (const char* mode : {"off", "per_text", "shared"})
    EXPECT_EQ(crammer::load_config(file(base()).string(), {std::string("cram.one_step=") + mode}).cram.one_step, mode);
  EXPECT_THAT(error_of(base(), {"cram.one_step=true"}), HasSubstr("cram.one_step"));
  EXPECT_THAT(error_of(base(), {"cram.one_step=per_text", "corpus.prefix_tokens=4"}),
              HasSubstr("cram.one_step: scores the carrier [e, m, .., m], which holds no text tokens; "
                        "corpus.prefix_tokens puts a context before the text"));
  EXPECT_THAT(error_of(base(), {"cram.one_step=shared", "cram.in_context_control=true"}),
              HasSubstr("cram.in_context_control scores the text in context"));
  EXPECT_THAT(error_of(base(), {"cram.one_step=per_text", "cram.loss.align_alpha=0.1"}),
              HasSubstr("cram.loss.align_alpha aligns the states of the text's tokens"));
  EXPECT_THAT(error_of(base(), {"cram.one_step=per_text", "cram.mem_rank=2"}),
              HasSubstr("cram.one_step: trains e and m as full vectors; cram.mem_rank 2"));
  EXPECT_THAT(error_of(base(), {"cram.one_step=shared", "cram.init=text_mean"}),
              HasSubstr("cram.init: text_mean starts from a text, and the shared m of cram.one_step shared"));
  expect_fingerprint_counts_only_off_default([](ExperimentConfig& c) -> std::string& { return c.cram.one_step; },
                                             std::string("per_text"));
}

TEST_F(ConfigTest, OutOfRangeNMem) {
  std::string m = error_of(base(), {"cram.n_mem=[1,0]"});
  EXPECT_THAT(m, HasSubstr("cram.n_mem[1]: must be >= 1, got 0"));
}

TEST_F(ConfigTest, LengthTooShortForTargets) {
  std::string m = error_of(base(), {"cram.lengths=[1,8]"});
  EXPECT_THAT(m, HasSubstr("cram.lengths[0]: must be >= 2 tokens"));
}

TEST_F(ConfigTest, BadBatchSize) {
  std::string m = error_of(base(), {"batching.batch_size=0"});
  EXPECT_THAT(m, HasSubstr("batching.batch_size: must be >= 1, got 0"));
}

TEST_F(ConfigTest, EmptyNMemList) {
  std::string m = error_of(base(), {"cram.n_mem=[]"});
  EXPECT_THAT(m, HasSubstr("cram.n_mem: must not be empty"));
}

TEST_F(ConfigTest, EmptyModelList) {
  std::string m = error_of(base(), {"models=[]"});
  EXPECT_THAT(m, HasSubstr("models: must not be empty"));
}

TEST_F(ConfigTest, EmptyCorpusPaths) {
  std::string m = error_of(base(), {"corpus.paths=[]"});
  EXPECT_THAT(m, HasSubstr("corpus.paths: must not be empty"));
}

TEST_F(ConfigTest, BadEnumValues) {
  EXPECT_THAT(error_of(base(), {"models.0.dtype=fp16"}), HasSubstr("models.0.dtype: 'fp16' is not one of f32 | bf16"));
  EXPECT_THAT(error_of(base(), {"corpus.format=csv"}), HasSubstr("corpus.format: 'csv' is not one of text | jsonl | token-ids"));
  EXPECT_THAT(error_of(base(), {"cram.search=binary"}), HasSubstr("cram.search: 'binary' is not one of grid | bisect | progressive"));
  EXPECT_THAT(error_of(base(), {"runtime.device=tpu"}), HasSubstr("runtime.device: 'tpu' is not one of cpu | cuda | cuda:N"));
}

TEST_F(ConfigTest, MissingCorpusFile) {
  std::string m = error_of(base(), {"corpus.paths=[" + (dir_ / "nope.txt").string() + "]"});
  EXPECT_THAT(m, HasSubstr("corpus.paths[0]: file '"));
  EXPECT_THAT(m, HasSubstr("nope.txt' does not exist"));
  // A directory where a file belongs is said to be one, not to be missing.
  m = error_of(base(), {"corpus.paths=[" + (dir_ / "model").string() + "]"});
  EXPECT_THAT(m, HasSubstr("corpus.paths[0]: '" + (dir_ / "model").string() + "' is a directory; expected a file"));
  m = error_of(base(), {"models.0.path=" + (dir_ / "corpus.txt").string()});
  EXPECT_THAT(m, HasSubstr("models.0.path: '" + (dir_ / "corpus.txt").string() + "' is a file; expected"));
}

// An output path that is a directory, or in one that takes no files: bad input, said at load.
TEST_F(ConfigTest, OutputPathMustBeAWritableFile) {
  std::string m = error_of(base(), {"output.path=" + (dir_ / "model").string()});
  EXPECT_THAT(m, HasSubstr("output.path: '" + (dir_ / "model").string() + "' is a directory"));
  // /proc/self takes no new files, even for root.
  m = error_of(base(), {"output.path=/proc/self/sub/r.h5"});
  EXPECT_THAT(m, HasSubstr("output.path: cannot write in directory '/proc/self'"));
  // Missing directories are fine: the run creates them.
  crammer::load_config(file(base()).string(), {"output.path=" + (dir_ / "new" / "deeper" / "r.h5").string()});
}

// The config path itself a directory: said so, not "models: must not be empty".
TEST_F(ConfigTest, ConfigPathIsADirectory) {
  try {
    crammer::load_config(dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("config file " + dir_.string() + ": is a directory"));
  }
}

TEST_F(ConfigTest, CorpusPatternsExpandSorted) {
  write(dir_ / "b.txt", "B. text.");
  write(dir_ / "a.txt", "A. text.");
  ExperimentConfig c = crammer::load_config(file(base()).string(), {"corpus.paths=['" + (dir_ / "?.txt").string() + "']"});
  EXPECT_EQ(c.corpus.paths, (std::vector<std::string>{(dir_ / "a.txt").string(), (dir_ / "b.txt").string()}));
}

TEST_F(ConfigTest, CorpusPatternMatchingNothing) {
  std::string m = error_of(base(), {"corpus.paths=[" + (dir_ / "none*.txt").string() + "]"});
  EXPECT_THAT(m, HasSubstr("corpus.paths[0]: pattern '"));
  EXPECT_THAT(m, HasSubstr("matches no file"));
}

TEST_F(ConfigTest, MissingModelDirectory) {
  std::string m = error_of(base(), {"models.0.path=" + (dir_ / "absent").string()});
  EXPECT_THAT(m, HasSubstr("models.0.path: directory '"));
  EXPECT_THAT(m, HasSubstr("absent' does not exist"));
}

TEST_F(ConfigTest, ModelDirectoryWithoutConfigJson) {
  fs::create_directories(dir_ / "empty_model");
  std::string m = error_of(base(), {"models.0.path=" + (dir_ / "empty_model").string()});
  EXPECT_THAT(m, HasSubstr("models.0.path: '"));
  EXPECT_THAT(m, HasSubstr("has no config.json"));
}

TEST_F(ConfigTest, RandomWordsNeedsWordList) {
  std::string m = error_of(base(), {"corpus.text_kind=random-words"});
  EXPECT_THAT(m, HasSubstr("corpus.word_list: is required when corpus.text_kind is random-words"));
}

TEST_F(ConfigTest, TextKindListIsCheckedPerEntry) {
  std::string m = error_of(base(), {"corpus.text_kind=[natural, prose]"});
  EXPECT_THAT(m, HasSubstr("corpus.text_kind[1]"));
  EXPECT_THAT(m, HasSubstr("prose"));
  m = error_of(base(), {"corpus.text_kind=[natural, natural]"});
  EXPECT_THAT(m, HasSubstr("corpus.text_kind[1]: 'natural' is listed twice"));
  m = error_of(base(), {"corpus.text_kind=[natural, random-words]"});
  EXPECT_THAT(m, HasSubstr("corpus.word_list: is required when corpus.text_kind is random-words"));
}

TEST_F(ConfigTest, MissingWordListFile) {
  std::string m = error_of(base(), {"corpus.text_kind=random-words", "corpus.word_list=" + (dir_ / "nowords.txt").string()});
  EXPECT_THAT(m, HasSubstr("corpus.word_list: file '"));
}

TEST_F(ConfigTest, DuplicateModelNames) {
  std::string m = error_of(base(), {"models.1.name=tiny", "models.1.path=" + (dir_ / "model").string()});
  EXPECT_THAT(m, HasSubstr("models.1.name: 'tiny' is used by two models"));
}

TEST_F(ConfigTest, MalformedYamlNamesLine) {
  std::string m = error_of(base() + "cram: [unclosed\n");
  EXPECT_THAT(m, HasSubstr("exp.yaml:"));
  EXPECT_THAT(m, HasSubstr("not valid YAML"));
}

TEST_F(ConfigTest, MalformedOverride) {
  std::string m = error_of(base(), {"cram.lengths"});
  EXPECT_THAT(m, HasSubstr("command-line override 'cram.lengths': expected KEY=VALUE"));
}

TEST_F(ConfigTest, MissingConfigFile) {
  try {
    crammer::load_config((dir_ / "missing.yaml").string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.yaml: cannot open"));
  }
}

}  // namespace

// Every shipped experiment config is valid. The paper configs name checkpoints and corpora on
// a user's cluster, so only their values are checked; the quickstart runs here, so its model,
// corpus and word list are checked too.
TEST(ShippedExperiments, AreValidConfigs) {
  int checked = 0;
  for (const auto& e : fs::directory_iterator("experiments")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".yaml" || name.rfind("pretrain", 0) == 0) continue;  // recipes
    crammer::LoadOptions o;
    o.check_files = name == "quickstart.yaml";
    try {
      crammer::load_config(e.path().string(), {}, o);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << ex.what();
    }
    ++checked;
  }
  EXPECT_GE(checked, 13);
  const auto q = crammer::load_config("experiments/quickstart.yaml");
  EXPECT_EQ(q.corpus.text_kind, (std::vector<std::string>{"natural", "random-words"}));
  EXPECT_EQ(q.cram.n_mem, (std::vector<int64_t>{1, 2, 4}));
}

// The paper's models that crammer runs, one config each, in the paper's dtype (PAPER-PROTOCOL:
// bf16 for Llama, OLMo, Sheared-LLaMA; fp32 for Pythia, OPT, Mamba), with its one-vector anchor
// length in the grid where the paper states one.
TEST(ShippedExperiments, ThePapersModelsHaveAConfigEachInThePapersDtype) {
  struct Paper {
    const char* file;
    const char* dtype;
    int64_t anchor;  // the paper's PG-19 max tokens at k = 1: the grid must reach it
  };
  const Paper models[] = {{"pythia-160m", "f32", 80},        {"pythia-410m", "f32", 96},
                          {"pythia-1.4b", "f32", 160},       {"pythia-2.8b", "f32", 128},
                          {"pythia-6.9b", "f32", 0},         {"opt-1.3b", "f32", 128},
                          {"olmo-1b-0724", "bf16", 384},
                          {"sheared-llama-1.3b", "bf16", 512}, {"llama-3.2-1b", "bf16", 512},
                          {"llama-3.2-3b", "bf16", 1024},    {"llama-3.1-8b", "bf16", 1568},
                          {"mamba-130m", "f32", 0},          {"mamba-370m", "f32", 0},
                          {"mamba-790m", "f32", 0},          {"mamba-1.4b", "f32", 0}};
  for (const Paper& m : models) {
    const std::string path = std::string("experiments/") + m.file + ".yaml";
    SCOPED_TRACE(path);
    ASSERT_TRUE(fs::exists(path));
    const auto c = crammer::load_config(path, {}, {false});
    ASSERT_EQ(c.models.size(), 1u);
    EXPECT_EQ(c.models[0].name, m.file);
    EXPECT_EQ(c.models[0].dtype, m.dtype);
    EXPECT_EQ(c.cram.n_mem.front(), 1);
    const auto& L = c.cram.lengths;
    if (m.anchor > 0) {
      EXPECT_GE(*std::max_element(L.begin(), L.end()), m.anchor);
    }
    EXPECT_EQ(c.cram.optimizer.lr, 0.01);
    EXPECT_EQ(c.cram.optimizer.max_steps, 5000);
  }
  const auto families = crammer::load_config("experiments/families-scaling.yaml", {}, {false});
  EXPECT_GE(families.models.size(), 5u);
  EXPECT_EQ(families.models.back().name, "mamba-1.4b");  // attention-free beside the transformers
}

// YAML is Unicode: bytes that are not UTF-8 could not be printed back (found by fuzz_config: a
// path with \xff printed raw and read back different).
TEST(ConfigPrint, TextThatIsNotUtf8IsAnErrorNamingTheKey) {
  auto error_of = [](const std::string& text) {
    try {
      crammer::parse_config(text, "raw.yaml", {}, {false});
    } catch (const crammer::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("models:\n  - name: m\n    path: /che\xff\xffrl\n"),
              AllOf(HasSubstr("raw.yaml:3"), HasSubstr("models.0.path"), HasSubstr("expected UTF-8 text"),
                    HasSubstr("/che\\xff\\xffrl")));
  EXPECT_THAT(error_of("models:\n  - name: m\n    path: p\ncorpus:\n  paths: [a, /data/x\xc3]\n"),
              AllOf(HasSubstr("corpus.paths[1]"), HasSubstr("expected UTF-8 text")));
}

TEST(ConfigPrint, ControlCharactersRoundTrip) {
  const std::string text = "models:\n  - name: m\n    path: \"/data/x\\r\\t\\x01 y\\r\"\n    dtype: bf16\n"
                           "corpus:\n  paths: [\"/c\\x7f\\r\"]\n";
  const crammer::ExperimentConfig c = crammer::parse_config(text, "ctl.yaml", {}, {false});
  ASSERT_EQ(c.models[0].path, "/data/x\r\t\x01 y\r");
  const std::string once = crammer::to_yaml(c);
  const crammer::ExperimentConfig again = crammer::parse_config(once, "printed.yaml", {}, {false});
  EXPECT_EQ(again.models[0].path, "/data/x\r\t\x01 y\r");
  EXPECT_EQ(again.corpus.paths, std::vector<std::string>{"/c\x7f\r"});
  EXPECT_EQ(crammer::to_yaml(again), once);
}
