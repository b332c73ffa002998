// crammer's tokenizers against Hugging Face's ids recorded in
// tests/reference/fixtures/tokenizers/golden-<name>.jsonl (check_tokenizers.py --write-golden):
// random strings of many scripts, emoji, whitespace runs, digits, contractions, long words and
// special-token texts, for the GPT-2, Llama-3 and SentencePiece-style kinds, GPT-2's real
// files, and the tokenizer.json pipelines of other families built with `tokenizers` itself
// (make_tokenizers.py: SmolLM2, Pythia, Qwen2, Gemma, Mistral, DeepSeek, Falcon, BLOOM and
// three that use the remaining components). The live run over 10,000 strings each is
// check_tokenizers.py (venv).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crammer/text/tokenizer.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = CRAMMER_SOURCE_DIR;
const fs::path kFixtures = kRoot / "tests/reference/fixtures/tokenizers";

fs::path tokenizer_dir(const std::string& name) {
  return name == "gpt2-real" ? kRoot / "data/tokenizers/gpt2" : kFixtures / name;
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, SameIdsAsHuggingFace) {
  const std::string name = GetParam();
  auto tok = load_tokenizer(tokenizer_dir(name).string());
  std::ifstream in(kFixtures / ("golden-" + name + ".jsonl"));
  ASSERT_TRUE(in) << "no golden file for " << name;
  std::string line;
  int rows = 0, round_trips = 0, failures = 0;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    const std::string text = row.at("text");
    auto ids = tok->encode(text, false);
    auto bos_ids = tok->encode(text, true);
    ++rows;
    bool ok = ids == row.at("ids").get<std::vector<int32_t>>() &&
              bos_ids == row.at("bos_ids").get<std::vector<int32_t>>();
    if (ok && row.at("round_trips").get<bool>()) {
      ++round_trips;
      ok = tok->decode(ids) == text;
    }
    if (!ok && ++failures <= 5)
      ADD_FAILURE() << name << ": mismatch on " << nlohmann::json(text).dump() << "\n  hf      "
                    << row.at("ids").dump() << "\n  crammer " << nlohmann::json(ids).dump();
  }
  EXPECT_EQ(failures, 0) << failures << " of " << rows << " strings differ";
  EXPECT_GE(rows, 100);
  std::cout << name << ": " << rows << " strings, " << round_trips << " round trips\n";
}

INSTANTIATE_TEST_SUITE_P(Kinds, TokenizerGolden,
                         ::testing::Values("gpt2", "llama3", "sp-llama", "gpt2-real", "smollm2",
                                           "pythia", "qwen2", "gemma", "mistral-split",
                                           "deepseek", "falcon", "bloom", "lowercase-words",
                                           "bert-prefix", "split-mix"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace crammer
