// SentencePiece through load_tokenizer: a small model trained here with sentencepiece's
// trainer on a few paragraphs of Persuasion, saved as tokenizer.model, then loaded.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

// Paragraphs of the novel, one per line (the trainer reads sentences line by line).
std::vector<std::string> paragraphs(size_t count) {
  std::string novel = test::read_text(test::source_path("data/corpora/austen/persuasion.txt"));
  std::vector<std::string> out;
  size_t pos = novel.find("Sir Walter Elliot");
  while (out.size() < count && pos < novel.size()) {
    size_t end = novel.find("\n\n", pos);
    if (end == std::string::npos) end = novel.size();
    std::string para = novel.substr(pos, end - pos);
    for (char& c : para)
      if (c == '\n' || c == '\r') c = ' ';
    if (para.size() > 40) out.push_back(para);
    pos = end + 2;
  }
  return out;
}

// Trains once per process; returns the directory holding tokenizer.model.
const test::fs::path& trained_dir() {
  static test::fs::path dir = [] {
    auto d = test::scratch_dir("spm");
    std::string corpus;
    for (const auto& p : paragraphs(60)) corpus += p + "\n";
    test::write_text(d / "train.txt", corpus);
    // identity normalisation and kept spaces, so decode(encode(x)) == x for training text.
    std::string args = "--input=" + (d / "train.txt").string() +
                       " --model_prefix=" + (d / "tokenizer").string() +
                       " --vocab_size=400 --model_type=bpe --character_coverage=1.0"
                       " --normalization_rule_name=identity --remove_extra_whitespaces=false"
                       " --num_threads=1 --minloglevel=2";
    auto status = sentencepiece::SentencePieceTrainer::Train(args);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return d;
  }();
  return dir;
}

TEST(TokenizerSentencePiece, LoadsTrainedModelAndRoundTrips) {
  ASSERT_TRUE(has_tokenizer(trained_dir().string()));
  auto tok = load_tokenizer(trained_dir().string());
  EXPECT_EQ(tok->vocab_size(), 400);
  EXPECT_NE(tok->describe().find("SentencePiece"), std::string::npos);
  // The library's own processor, used directly, as the independent reference.
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load((trained_dir() / "tokenizer.model").string()).ok());
  for (const auto& para : paragraphs(80)) {
    auto ids = tok->encode(para);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(tok->decode(ids), para);
    std::vector<int> reference;
    ASSERT_TRUE(sp.Encode(para, &reference).ok());
    EXPECT_EQ(ids, std::vector<int32_t>(reference.begin(), reference.end()));
    EXPECT_LT(ids.size(), para.size());  // merges learnt: fewer pieces than characters
  }
}

TEST(TokenizerSentencePiece, Bos) {
  auto tok = load_tokenizer(trained_dir().string());
  // The trainer's defaults: unk 0, bos 1, eos 2.
  EXPECT_EQ(tok->bos_id(), std::optional<int32_t>(1));
  EXPECT_EQ(tok->eos_id(), std::optional<int32_t>(2));
  EXPECT_TRUE(tok->uses_bos());
  std::string text = "Anne Elliot was at home.";
  auto plain = tok->encode(text, false);
  auto with_bos = tok->encode(text, true);
  ASSERT_EQ(with_bos.size(), plain.size() + 1);
  EXPECT_EQ(with_bos[0], 1);
  EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), plain);
  EXPECT_EQ(tok->decode(with_bos), text);  // control pieces decode to nothing
}

TEST(TokenizerSentencePiece, ConfigTurnsBosOff) {
  auto dir = test::scratch_dir("nobos");
  test::fs::copy_file(trained_dir() / "tokenizer.model", dir / "tokenizer.model");
  test::write_text(dir / "tokenizer_config.json",
                   R"({"add_bos_token": false, "bos_token": "<s>"})");
  auto tok = load_tokenizer(dir.string());
  EXPECT_FALSE(tok->uses_bos());
  EXPECT_EQ(tok->bos_id(), std::optional<int32_t>(1));
  EXPECT_EQ(tok->encode("Anne", true), tok->encode("Anne", false));
}

TEST(TokenizerSentencePiece, UnsupportedTokenizerJsonFallsBackToModel) {
  // A Unigram tokenizer.json beside tokenizer.model (as T5-style checkpoints ship).
  auto dir = test::scratch_dir("fallback");
  test::fs::copy_file(trained_dir() / "tokenizer.model", dir / "tokenizer.model");
  test::write_text(dir / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  auto tok = load_tokenizer(dir.string());
  EXPECT_NE(tok->describe().find("SentencePiece"), std::string::npos) << tok->describe();
}

TEST(TokenizerSentencePiece, BadIdIsTokenizerError) {
  auto tok = load_tokenizer(trained_dir().string());
  EXPECT_THROW(tok->decode({5, 400}), TokenizerError);
}

}  // namespace
}  // namespace crammer
