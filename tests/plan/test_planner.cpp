// The planner on real data (Austen novels, the GPT-2 tokenizer, a config.json written here):
// task counts, keys, order, the prefix property, skipped rows for short samples, capacity-search
// tasks, determinism (byte for byte) and the plan summary's numbers.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "crammer/plan/planner.hpp"
#include "crammer/plan/summary.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot(CRAMMER_SOURCE_DIR);
const std::string kGpt2 = (kRoot / "data/tokenizers/gpt2").string();

// NAME, fresh, in this process's temp dir (removed at exit).
fs::path temp_dir(const std::string& name) {
  static const test::TempDir root("plan");
  return root.dir(name);
}

// A checkpoint directory holding only config.json (the planner reads nothing else).
std::string checkpoint(const std::string& name, int64_t vocab) {
  fs::path d = temp_dir(name);
  std::ofstream(d / "config.json") << R"({"model_type": "gpt2", "vocab_size": )" << vocab
                                   << R"(, "n_embd": 64, "n_layer": 3, "n_head": 2, "n_positions": 1024})";
  return d.string();
}

ExperimentConfig base_config() {
  ExperimentConfig c;
  c.models.push_back(ModelEntry{"tiny", checkpoint("tiny", 50257), "f32", kGpt2});
  c.models.push_back(ModelEntry{"tok", kGpt2, "bf16", ""});  // no config.json: fields unknown
  c.corpus.paths = {(kRoot / "data/corpora/austen/emma.txt").string(),
                    (kRoot / "data/corpora/austen/northangerabbey.txt").string()};
  c.corpus.samples = 5;
  c.corpus.seed = 1;
  c.cram.n_mem = {2, 1};         // unsorted on purpose: order must not matter
  c.cram.lengths = {32, 16, 64};
  c.cram.optimizer.max_steps = 100;
  return c;
}

const SampleRecord& sample_of(const Plan& p, int32_t model, int64_t id) {
  for (const auto& s : p.samples) {
    if (s.model_index == model && s.sample_id == id) return s;
  }
  throw std::runtime_error("no sample");
}

TEST(Planner, GridTasksKeysOrderAndPrefixes) {
  const auto cfg = base_config();
  const Plan p = make_plan(cfg);
  ASSERT_EQ(p.models.size(), 2u);
  EXPECT_EQ(p.models[0].model_type, "gpt2");
  EXPECT_EQ(p.models[0].d_model, 64);
  EXPECT_EQ(p.models[0].num_layers, 3);
  EXPECT_EQ(p.models[0].vocab_size, 50257);
  EXPECT_EQ(p.models[0].dtype, "f32");
  EXPECT_EQ(p.models[1].name, "tok");
  EXPECT_EQ(p.models[1].vocab_size, 0);
  ASSERT_EQ(p.samples.size(), 10u);  // 2 models x 5 samples

  // Austen is long: nothing skipped, 2 models x 2 k x 3 lengths x 5 samples.
  EXPECT_TRUE(p.skipped.empty());
  ASSERT_EQ(p.tasks.size(), 2u * 2 * 3 * 5);

  const std::regex key_re(R"((tiny|tok)/k([0-9]+)/L([0-9]+)/s([0-9]+))");
  std::set<std::string> keys;
  std::tuple<int, int, int, int64_t> prev{-1, 0, 0, 0};
  for (const auto& t : p.tasks) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(t.key, m, key_re)) << t.key;
    EXPECT_EQ(m[1].str(), cfg.models[t.model_index].name);
    EXPECT_EQ(std::stoi(m[2].str()), t.n_mem);
    EXPECT_EQ(std::stoi(m[3].str()), t.length);
    EXPECT_EQ(std::stoll(m[4].str()), t.sample_id);
    EXPECT_TRUE(keys.insert(t.key).second) << "duplicate " << t.key;
    EXPECT_FALSE(t.capacity_search);
    auto cur = std::make_tuple(t.model_index, t.n_mem, t.length, t.sample_id);
    EXPECT_LT(prev, cur) << "order broken at " << t.key;
    prev = cur;
    // The text to cram: the first `length` ids of this model's sample.
    const auto& s = sample_of(p, t.model_index, t.sample_id);
    ASSERT_EQ(t.token_ids.size(), static_cast<size_t>(t.length));
    EXPECT_TRUE(std::equal(t.token_ids.begin(), t.token_ids.end(), s.token_ids.begin()));
  }
  // Prefix property: L=16 ids are a prefix of L=32 ids of the same sample.
  std::map<std::string, const Task*> by_key;
  for (const auto& t : p.tasks) by_key[t.key] = &t;
  for (int64_t i = 0; i < 5; ++i) {
    const Task* a = by_key.at(grid_task_key("tiny", 1, 16, i));
    const Task* b = by_key.at(grid_task_key("tiny", 1, 32, i));
    const Task* c = by_key.at(grid_task_key("tiny", 2, 32, i));
    EXPECT_TRUE(std::equal(a->token_ids.begin(), a->token_ids.end(), b->token_ids.begin()));
    EXPECT_EQ(b->token_ids, c->token_ids);  // k does not change the text
  }
  EXPECT_EQ(grid_task_key("tiny", 4, 128, 7), "tiny/k4/L128/s7");
  EXPECT_EQ(search_task_key("tiny", 4, 7), "tiny/k4/search/s7");
}

TEST(Planner, DeterministicByteForByte) {
  auto cfg = base_config();
  const std::string a = plan_to_json(make_plan(cfg));
  const std::string b = plan_to_json(make_plan(cfg));
  EXPECT_EQ(a, b);
  cfg.cram.n_mem = {1, 2};
  cfg.cram.lengths = {64, 16, 32};
  EXPECT_EQ(plan_to_json(make_plan(cfg)), a) << "config list order changed the plan";
  cfg.corpus.seed = 2;
  EXPECT_NE(plan_to_json(make_plan(cfg)), a);

  // A task's ids do not depend on how many samples the sweep has.
  auto small = base_config();
  small.corpus.samples = 2;
  const Plan ps = make_plan(small), pb = make_plan(base_config());
  std::map<std::string, std::vector<int32_t>> big_ids;
  for (const auto& t : pb.tasks) big_ids[t.key] = t.token_ids;
  for (const auto& t : ps.tasks) EXPECT_EQ(big_ids.at(t.key), t.token_ids) << t.key;
}

TEST(Planner, ShortSamplesAreSkippedNotPadded) {
  fs::path d = temp_dir("short");
  std::ofstream(d / "short.txt") << "Short text. It has very few tokens in it, far fewer than needed! "
                                    "Another sentence follows here.\n";
  auto cfg = base_config();
  cfg.corpus.paths = {(d / "short.txt").string()};
  cfg.corpus.samples = 3;
  cfg.cram.lengths = {4, 8, 16, 64};
  const Plan p = make_plan(cfg);
  // Independent count: a (model, k, L, sample) point is skipped iff the sample has < L tokens.
  size_t want_skipped = 0;
  for (const auto& s : p.samples) {
    EXPECT_LT(s.token_ids.size(), 64u);
    for (int64_t L : cfg.cram.lengths) want_skipped += cfg.cram.n_mem.size() * (s.token_ids.size() < size_t(L));
  }
  EXPECT_GT(want_skipped, 0u);
  EXPECT_EQ(p.skipped.size(), want_skipped);
  EXPECT_EQ(p.tasks.size() + p.skipped.size(), 2u * 2 * 4 * 3);
  std::set<std::string> keys;
  for (const auto& t : p.tasks) keys.insert(t.key);
  for (const auto& r : p.skipped) {
    EXPECT_EQ(r.status, TaskStatus::skipped);
    EXPECT_STREQ(to_string(r.status), "skipped");
    EXPECT_TRUE(keys.insert(r.task_key).second) << "skipped key also a task: " << r.task_key;
    const auto n = sample_of(p, r.model_index, r.sample_id).token_ids.size();
    EXPECT_LT(n, static_cast<size_t>(r.length));
    EXPECT_NE(r.error.find("has " + std::to_string(n) + " tokens"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("length " + std::to_string(r.length)), std::string::npos) << r.error;
  }
  // `crammer status` reports stored of planned tasks: per model, k x lengths x samples.
  ASSERT_EQ(p.models.size(), 2u);
  for (const auto& m : p.models) EXPECT_EQ(m.planned_tasks, 2 * 4 * 3) << m.name;
}

TEST(Planner, CapacitySearchTasks) {
  auto cfg = base_config();
  cfg.cram.search = "bisect";
  const Plan p = make_plan(cfg);
  ASSERT_EQ(p.tasks.size(), 2u * 2 * 5);
  std::set<std::string> keys;
  for (const auto& t : p.tasks) {
    EXPECT_TRUE(t.capacity_search);
    EXPECT_EQ(t.length, 64);
    EXPECT_EQ(t.token_ids, sample_of(p, t.model_index, t.sample_id).token_ids);
    EXPECT_EQ(t.key, search_task_key(cfg.models[t.model_index].name, t.n_mem, t.sample_id));
    keys.insert(t.key);
  }
  EXPECT_EQ(keys.size(), p.tasks.size());

  // A short sample caps the search at the largest length it reaches, or is skipped.
  fs::path d = temp_dir("short-search");
  std::ofstream(d / "s.txt") << "One two three four five six seven eight nine ten eleven twelve.\n";
  cfg.corpus.paths = {(d / "s.txt").string()};
  cfg.corpus.samples = 1;
  cfg.cram.lengths = {4, 8, 100};
  const Plan q = make_plan(cfg);
  ASSERT_EQ(q.tasks.size(), 4u);
  for (const auto& t : q.tasks) EXPECT_EQ(t.length, 8) << t.key;
  // Nothing left to run: the plan is refused rather than a sweep of skipped rows.
  cfg.cram.lengths = {50, 100};
  try {
    make_plan(cfg);
    ADD_FAILURE() << "a plan of skipped rows only";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("every one of the 4 tasks would be skipped: the longest sample has "),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fewer than the smallest length 50 (cram.lengths)"), std::string::npos)
        << e.what();
  }
}

// Restarts: R tasks per (model, k, length, sample), the restart in the key and the task; one
// restart keeps the keys of files written before restarts existed.
TEST(Planner, RestartsMultiplyTasksAndEndTheirKeys) {
  auto cfg = base_config();
  const Plan one = make_plan(cfg);
  cfg.cram.restarts = 3;
  const Plan p = make_plan(cfg);
  ASSERT_EQ(p.tasks.size(), 3 * one.tasks.size());
  std::map<std::string, int> per_base;
  for (const auto& t : p.tasks) {
    EXPECT_EQ(t.key, grid_task_key(cfg.models[t.model_index].name, t.n_mem, t.length, t.sample_id, t.restart));
    EXPECT_EQ(t.key.substr(t.key.rfind('/')), "/r" + std::to_string(t.restart));
    ++per_base[t.key.substr(0, t.key.rfind('/'))];
  }
  ASSERT_EQ(per_base.size(), one.tasks.size());
  for (const auto& t : one.tasks) EXPECT_EQ(per_base.at(t.key), 3) << t.key;
  for (const auto& m : p.models) EXPECT_EQ(m.planned_tasks, 3 * 2 * 3 * 5) << m.name;
  cfg.cram.search = "bisect";
  for (const auto& t : make_plan(cfg).tasks)
    EXPECT_EQ(t.key, search_task_key(cfg.models[t.model_index].name, t.n_mem, t.sample_id, t.restart));
}

// Random-length texts: one task per sample at a length drawn from [2, max(lengths)] by
// (corpus.seed, sample id): the same for every model, k and sample count, spread over the range.
TEST(Planner, UniformLengthsDrawOneLengthPerSample) {
  auto cfg = base_config();
  cfg.cram.length_mode = "uniform";
  cfg.corpus.samples = 40;
  const Plan p = make_plan(cfg);
  ASSERT_EQ(p.tasks.size(), 2u * 2 * 40);
  std::map<int64_t, int32_t> length_of;
  for (const auto& t : p.tasks) {
    EXPECT_GE(t.length, 2);
    EXPECT_LE(t.length, 64);
    EXPECT_EQ(t.key, grid_task_key(cfg.models[t.model_index].name, t.n_mem, t.length, t.sample_id));
    auto [it, fresh] = length_of.emplace(t.sample_id, t.length);
    EXPECT_EQ(it->second, t.length) << "sample " << t.sample_id << " has one length for every model and k";
    ASSERT_EQ(t.prefix_bytes.size(), static_cast<size_t>(t.length) + 1);
    EXPECT_GT(t.prefix_bytes.back(), 0);
  }
  std::set<int32_t> distinct;
  for (const auto& [id, length] : length_of) distinct.insert(length);
  EXPECT_GE(distinct.size(), 15u) << "40 draws from 63 lengths";
  cfg.corpus.samples = 10;  // fewer samples: the first ten keep their lengths
  for (const auto& t : make_plan(cfg).tasks) EXPECT_EQ(t.length, length_of.at(t.sample_id));
  cfg.corpus.seed = 2;
  int moved = 0;
  for (const auto& t : make_plan(cfg).tasks) moved += t.length != length_of.at(t.sample_id) ? 1 : 0;
  EXPECT_GT(moved, 0) << "another corpus.seed draws other lengths";
}

// Bytes: each task carries the UTF-8 byte count of its text decoded by the model's tokenizer
// (BOS left out), at its length; a search task at every length it may probe.
TEST(Planner, TasksCarryTheBytesOfTheirTexts) {
  auto cfg = base_config();
  cfg.corpus.add_bos = "true";  // GPT-2's <|endoftext|> as BOS: it must not count
  const Plan p = make_plan(cfg);
  auto tok = load_tokenizer(kGpt2);
  for (const auto& t : p.tasks) {
    ASSERT_EQ(t.prefix_bytes.size(), static_cast<size_t>(t.length) + 1);
    EXPECT_EQ(t.token_ids.front(), *tok->bos_id());
    const std::vector<int32_t> text(t.token_ids.begin() + 1, t.token_ids.end());
    EXPECT_EQ(t.prefix_bytes.back(), static_cast<int32_t>(tok->decode(text).size())) << t.key;
    EXPECT_EQ(t.prefix_bytes[static_cast<size_t>(t.length) - 1], -1) << "a grid task counts its own length only";
  }
  cfg.cram.search = "bisect";
  for (const auto& t : make_plan(cfg).tasks) {
    ASSERT_EQ(t.prefix_bytes.size(), static_cast<size_t>(t.length) + 1);
    for (int32_t i = 2; i <= t.length; i += 7) {
      const std::vector<int32_t> text(t.token_ids.begin() + 1, t.token_ids.begin() + i);
      EXPECT_EQ(t.prefix_bytes[static_cast<size_t>(i)], static_cast<int32_t>(tok->decode(text).size()));
    }
  }
}

// corpus.prefix_tokens P: each task's context is its sample's first P tokens (BOS included) and
// its text the tokens after them; keys do not change; bytes count the text alone; positions
// count the context; a sample without P + length tokens skips that length.
TEST(Planner, PrefixTokensSplitEachSampleIntoContextAndText) {
  auto cfg = base_config();
  cfg.corpus.add_bos = "true";
  const Plan plain = make_plan(cfg);
  cfg.corpus.prefix_tokens = 7;
  const Plan p = make_plan(cfg);
  auto tok = load_tokenizer(kGpt2);
  ASSERT_EQ(p.tasks.size(), plain.tasks.size());
  for (size_t i = 0; i < p.tasks.size(); ++i) {
    const auto& t = p.tasks[i];
    EXPECT_EQ(t.key, plain.tasks[i].key);
    const auto& ids = sample_of(p, t.model_index, t.sample_id).token_ids;
    ASSERT_GE(ids.size(), static_cast<size_t>(7 + t.length)) << t.key;
    EXPECT_EQ(t.context, std::vector<int32_t>(ids.begin(), ids.begin() + 7)) << t.key;
    EXPECT_EQ(t.context.front(), *tok->bos_id()) << "the BOS opens the context";
    EXPECT_EQ(t.token_ids, std::vector<int32_t>(ids.begin() + 7, ids.begin() + 7 + t.length)) << t.key;
    EXPECT_EQ(t.prefix_bytes.back(), static_cast<int32_t>(tok->decode(t.token_ids).size())) << t.key;
  }
  EXPECT_TRUE(plain.tasks.front().context.empty());
  // A sample without its context and length skips that length; the row counts the sample's
  // tokens (context included) and names both parts.
  {
    fs::path d = temp_dir("short-context");
    std::ofstream(d / "short.txt") << "Short text. It has very few tokens in it, far fewer than needed! "
                                      "Another sentence follows here.\n";
    auto short_cfg = cfg;
    short_cfg.corpus.paths = {(d / "short.txt").string()};
    short_cfg.corpus.samples = 1;
    short_cfg.corpus.prefix_tokens = 2;
    short_cfg.cram.lengths = {2, 64};
    const Plan sp = make_plan(short_cfg);
    ASSERT_FALSE(sp.skipped.empty());
    ASSERT_FALSE(sp.tasks.empty());
    for (const auto& r : sp.skipped) {
      const auto n = sample_of(sp, r.model_index, r.sample_id).token_ids.size();
      EXPECT_GE(n, 2u + 2u);
      EXPECT_NE(r.error.find("has " + std::to_string(n) + " tokens"), std::string::npos) << r.error;
      EXPECT_NE(r.error.find("fewer than corpus.prefix_tokens 2 + length 64"), std::string::npos) << r.error;
    }
  }
  // The longest input now needs 2 + 7 + 64 positions; the tiny model has 1024.
  cfg.source_file = "sweep.yaml";
  cfg.corpus.prefix_tokens = 960;
  try {
    make_plan(cfg);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max length 64 + max n_mem 2 + corpus.prefix_tokens 960 = 1026 positions > "
                                         "max_position_embeddings 1024"),
              std::string::npos)
        << e.what();
  }
}

TEST(Planner, TokenIdsCheckedAgainstConfigVocab) {
  fs::path d = temp_dir("ids");
  std::ofstream(d / "ids.jsonl") << "[1, 2, 3, 4, 5, 6, 7, 8]\n[9, 1500, 3]\n";
  ExperimentConfig c;
  c.models.push_back(ModelEntry{"small", checkpoint("small-vocab", 1000), "f32", ""});  // no tokenizer
  c.corpus.format = "token-ids";
  c.corpus.paths = {(d / "ids.jsonl").string()};
  c.corpus.samples = 1;
  c.cram.n_mem = {1};
  c.cram.lengths = {4, 8};
  const Plan p = make_plan(c);
  ASSERT_EQ(p.tasks.size(), 2u);
  EXPECT_EQ(p.tasks[1].token_ids, (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  c.corpus.samples = 2;
  try {
    make_plan(c);
    FAIL();
  } catch (const CorpusError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("ids.jsonl:2, element 1: token id 1500 >= vocab size 1000 of model 'small'"),
              std::string::npos) << msg;
  }
}

// A text tokenizer whose ids exceed the model's vocabulary is refused at plan time.
TEST(Planner, TokenizerBiggerThanTheModelIsRefused) {
  ExperimentConfig c = base_config();
  c.source_file = "sweep.yaml";
  c.models.resize(1);
  c.models[0].path = checkpoint("small-vocab", 1000);  // the GPT-2 tokenizer has 50257 tokens
  try {
    make_plan(c);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sweep.yaml: models.0.tokenizer: the tokenizer of model 'tiny'"), std::string::npos) << m;
    EXPECT_NE(m.find("but the model's vocab_size is 1000 (config.json)"), std::string::npos) << m;
  }
}

// corpus.add_bos, per model: auto follows each tokenizer (the Llama-3 and SentencePiece-style
// fixtures prepend their BOS, GPT-2 does not), true forces GPT-2's <|endoftext|>, false none.
// The BOS counts in the length; the stored text leaves it out; the models table records it.
TEST(Planner, AddBosFollowsEachTokenizer) {
  const fs::path fixtures = kRoot / "tests/reference/fixtures/tokenizers";
  ExperimentConfig c = base_config();
  c.models = {ModelEntry{"gpt2", kGpt2, "f32", ""},
              ModelEntry{"llama3", (fixtures / "llama3").string(), "f32", ""},
              ModelEntry{"sp", (fixtures / "sp-llama").string(), "f32", ""}};
  c.corpus.samples = 2;
  c.cram.lengths = {8};
  auto first_ids = [](const Plan& p, int32_t model) { return sample_of(p, model, 0).token_ids; };

  const Plan aut = make_plan(c);
  EXPECT_EQ(aut.models[0].bos_token, -1);
  EXPECT_EQ(aut.models[1].bos_token, 800);  // <|begin_of_text|>, after the learned vocabulary
  EXPECT_EQ(aut.models[2].bos_token, 1);    // <s>
  EXPECT_NE(first_ids(aut, 0).front(), 50256);
  for (int32_t m : {1, 2}) {
    const auto& s = sample_of(aut, m, 0);
    ASSERT_EQ(s.token_ids.size(), 8u);
    EXPECT_EQ(s.token_ids.front(), aut.models[m].bos_token);
    EXPECT_EQ(s.text.find("<s>"), std::string::npos);
    EXPECT_EQ(s.text.find("<|begin_of_text|>"), std::string::npos);
  }
  // The BOS takes one of the 8 positions: the text keeps 7 of the tokens it keeps without it.
  c.corpus.add_bos = "false";
  const Plan off = make_plan(c);
  for (int32_t m : {0, 1, 2}) EXPECT_EQ(off.models[m].bos_token, -1);
  const auto with = first_ids(aut, 1), without = first_ids(off, 1);
  ASSERT_EQ(with.size(), 8u);
  ASSERT_EQ(without.size(), 8u);
  EXPECT_EQ(std::vector<int32_t>(with.begin() + 1, with.end()),
            std::vector<int32_t>(without.begin(), without.begin() + 7));

  c.corpus.add_bos = "true";
  const Plan on = make_plan(c);
  EXPECT_EQ(on.models[0].bos_token, 50256);
  EXPECT_EQ(first_ids(on, 0).front(), 50256);
  EXPECT_EQ(first_ids(on, 1), first_ids(aut, 1));
}

// The longest task input ([mem] + text) must fit the model's positions: refused at plan time
// naming the key, the numbers, the model and its config.json.
TEST(Planner, LengthBeyondModelPositions) {
  ExperimentConfig c = base_config();
  c.source_file = "sweep.yaml";
  c.cram.lengths = {16, 1022};  // + n_mem 2 = 1024 = n_positions: fits
  EXPECT_NO_THROW(make_plan(c));
  c.cram.lengths = {16, 1023};
  try {
    make_plan(c);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sweep.yaml: cram.lengths: max length 1023 + max n_mem 2 = 1025 positions > "
                     "max_position_embeddings 1024 of model tiny"), std::string::npos) << m;
    EXPECT_NE(m.find("config.json"), std::string::npos) << m;
  }
}

// A model name that makes task keys longer than the results file stores: refused at plan time,
// naming the key; one byte shorter fits.
TEST(Planner, LongModelNamesAreRefused) {
  ExperimentConfig c = base_config();
  c.source_file = "sweep.yaml";
  // Grid keys: NAME + "/k2/L64/s4" (10 bytes): 117 + 10 = 127 fits, 118 does not.
  c.models[1].name = std::string(117, 'm');
  EXPECT_NO_THROW(make_plan(c));
  c.models[1].name = std::string(118, 'm');
  try {
    make_plan(c);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sweep.yaml: models.1.name: '" + c.models[1].name + "' (118 bytes)"), std::string::npos) << m;
    EXPECT_NE(m.find("at most 127"), std::string::npos) << m;
  }
}

// A model whose config.json does not parse is refused at plan time naming its key and file.
// Lengths past a sliding window are allowed but said: the last tokens cannot see [mem] there.
TEST(Planner, NotesLengthsPastASlidingWindow) {
  auto mistral = [](const std::string& name, const std::string& window) {
    fs::path d = temp_dir(name);
    std::ofstream(d / "config.json")
        << R"({"model_type": "mistral", "vocab_size": 50257, "hidden_size": 64, "num_hidden_layers": 3,
              "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 128,
              "max_position_embeddings": 1024, "sliding_window": )" << window << "}";
    return d.string();
  };
  ExperimentConfig c = base_config();
  c.models = {ModelEntry{"mis40", mistral("mis40", "40"), "f32", kGpt2},
              ModelEntry{"mis66", mistral("mis66", "66"), "f32", kGpt2},
              ModelEntry{"misnull", mistral("misnull", "null"), "f32", kGpt2}};
  const Plan p = make_plan(c);
  ASSERT_EQ(p.notes.size(), 1u) << "66 = max length 64 + max n_mem 2 fits a window of 66";
  EXPECT_NE(p.notes[0].find("model mis40 (mistral): 3 of 3 layers use a sliding attention window of 40 positions"),
            std::string::npos) << p.notes[0];
  EXPECT_NE(p.notes[0].find("tokens more than 39 positions after a [mem] vector do not see it"), std::string::npos)
      << p.notes[0];
  EXPECT_TRUE(make_plan(base_config()).notes.empty());
}

TEST(Planner, MalformedModelConfigJson) {
  ExperimentConfig c = base_config();
  c.source_file = "sweep.yaml";
  std::ofstream(fs::path(c.models[0].path) / "config.json") << "{ not json";
  try {
    make_plan(c);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sweep.yaml: models.0.path: "), std::string::npos) << m;
    EXPECT_NE(m.find("config.json"), std::string::npos) << m;
  }
}

TEST(PlanSummary, CountsAndCostBound) {
  auto cfg = base_config();
  const Plan p = make_plan(cfg);
  // Independent arithmetic: 2 models x 5 samples x sum over k in {1,2}, L in {16,32,64} of (k+L).
  double per_step = 0;
  for (int k : {1, 2}) {
    for (int L : {16, 32, 64}) per_step += k + L;
  }
  per_step *= 2 * 5;
  const PlanCost cost = estimate_cost(cfg, p);
  EXPECT_DOUBLE_EQ(cost.tokens_per_step, per_step);
  EXPECT_DOUBLE_EQ(cost.token_steps_upper, per_step * 100);
  const std::string text = plan_summary(cfg, p);
  EXPECT_NE(text.find("total: 60 tasks, 0 skipped (of 60 = 2 models x 2 n_mem x 3 lengths x 5 samples)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("tiny: 30 tasks, 0 skipped"), std::string::npos) << text;
  EXPECT_NE(text.find(std::to_string(static_cast<int64_t>(per_step * 100)) + " token-steps"),
            std::string::npos) << text;

  // Progressive: each task probes every length up to 64 -> same per-step sum as the grid.
  cfg.cram.search = "progressive";
  EXPECT_DOUBLE_EQ(estimate_cost(cfg, make_plan(cfg)).tokens_per_step, per_step);
  // Bisect over 3 lengths: ceil(log2(4)) = 2 probes of (k + 64) per task.
  cfg.cram.search = "bisect";
  EXPECT_DOUBLE_EQ(estimate_cost(cfg, make_plan(cfg)).tokens_per_step, 2 * 5 * (2.0 * (1 + 64) + 2.0 * (2 + 64)));
}

}  // namespace
}  // namespace crammer
