// Llama-3 style byte-level BPE: the Split(Regex) pre-tokenizer on hand-worked cases (digits
// in groups of 1-3, case-insensitive contractions, newlines), ignore_merges, and BOS from
// the TemplateProcessing post-processor, with a small tokenizer.json written by the test.
#include <gtest/gtest.h>

#include "crammer/text/bpe.hpp"
#include "crammer/text/regex_splitter.hpp"
#include "crammer/text/tokenizer.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

using json = nlohmann::json;
using Pieces = std::vector<std::string>;

constexpr int32_t kBos = 262, kEos = 263;

// Bytes are ids 0-255 (id = byte value); then "12", "123", "1234", "hello", "'V", "'VE".
json small_llama3_json(bool ignore_merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b)
    vocab[bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab["12"] = 256;
  vocab["123"] = 257;
  vocab["1234"] = 258;
  vocab["hello"] = 259;  // reachable only through ignore_merges: no merges build it
  vocab["'V"] = 260;
  vocab["'VE"] = 261;
  json merges =
      json::array({json::array({"1", "2"}), json::array({"12", "3"}), json::array({"123", "4"}),
                   json::array({"'", "V"}), json::array({"'V", "E"})});
  auto special = [](int id, const char* content) {
    return json{{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", true}};
  };
  return {
      {"version", "1.0"},
      {"added_tokens",
       json::array({special(kBos, "<|begin_of_text|>"), special(kEos, "<|end_of_text|>")})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"},
                                        {"pattern", {{"Regex", kLlama3Pattern}}},
                                        {"behavior", "Isolated"},
                                        {"invert", false}},
                                       {{"type", "ByteLevel"},
                                        {"add_prefix_space", false},
                                        {"trim_offsets", true},
                                        {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "Sequence"},
        {"processors",
         json::array({{{"type", "ByteLevel"},
                       {"add_prefix_space", true},
                       {"trim_offsets", false},
                       {"use_regex", true}},
                      {{"type", "TemplateProcessing"},
                       {"single", json::array({{{"SpecialToken",
                                                 {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                                               {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                       {"special_tokens",
                        {{"<|begin_of_text|>",
                          {{"id", "<|begin_of_text|>"},
                           {"ids", json::array({kBos})},
                           {"tokens", json::array({"<|begin_of_text|>"})}}}}}}})}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", ignore_merges},
        {"vocab", vocab},
        {"merges", merges}}}};
}

std::unique_ptr<Tokenizer> load_small(const std::string& name, bool ignore_merges = true,
                                      const json& config = nullptr) {
  auto dir = test::scratch_dir(name);
  test::write_text(dir / "tokenizer.json", small_llama3_json(ignore_merges).dump(2));
  if (!config.is_null()) test::write_text(dir / "tokenizer_config.json", config.dump());
  return load_tokenizer(dir.string());
}

Pieces split(const char* pattern, const std::string& text) {
  RegexSplitter splitter(pattern, false, "test");
  Pieces out;
  for (auto p : splitter.split(text, SplitBehavior::isolated)) out.emplace_back(p);
  return out;
}

// Each expectation below was worked out by hand from the pattern's alternatives.
TEST(TokenizerLlama3, PreTokenizerSplits) {
  EXPECT_EQ(split(kLlama3Pattern, "12345678"), (Pieces{"123", "456", "78"}));
  EXPECT_EQ(split(kLlama3Pattern, "3.14"), (Pieces{"3", ".", "14"}));
  EXPECT_EQ(split(kLlama3Pattern, "$100"), (Pieces{"$", "100"}));
  EXPECT_EQ(split(kLlama3Pattern, "I'VE been"), (Pieces{"I", "'VE", " been"}));
  EXPECT_EQ(split(kLlama3Pattern, "don't DON'T"), (Pieces{"don", "'t", " DON", "'T"}));
  EXPECT_EQ(split(kLlama3Pattern, "hello\n\n  world"), (Pieces{"hello", "\n\n", " ", " world"}));
  EXPECT_EQ(split(kLlama3Pattern, "Wait...\nOK"), (Pieces{"Wait", "...\n", "OK"}));
  EXPECT_EQ(split(kLlama3Pattern, "a\r\nb"), (Pieces{"a", "\r\n", "b"}));
  EXPECT_EQ(split(kLlama3Pattern, "hi  \n"), (Pieces{"hi", "  \n"}));
  EXPECT_EQ(split(kLlama3Pattern, "x\t\ty"), (Pieces{"x", "\t", "\ty"}));
  EXPECT_EQ(split(kLlama3Pattern,
                  "\xc3\x9c"
                  "ber 2024\xe5\xb9\xb4"),  // "Über 2024年"
            (Pieces{"\xc3\x9c"
                    "ber",
                    " ", "202", "4", "\xe5\xb9\xb4"}));
}

TEST(TokenizerLlama3, Gpt2PatternDiffers) {
  EXPECT_EQ(split(kGpt2Pattern, "12345678"), (Pieces{"12345678"}));
  EXPECT_EQ(split(kGpt2Pattern, "I'VE been"), (Pieces{"I", "'", "VE", " been"}));
  EXPECT_EQ(split(kGpt2Pattern, "hello\n\n  world"), (Pieces{"hello", "\n\n ", " world"}));
  EXPECT_EQ(split(kGpt2Pattern, "Hello world!!"), (Pieces{"Hello", " world", "!!"}));
}

TEST(TokenizerLlama3, EncodeFollowsTheSplits) {
  auto tok = load_small("encode");
  // "1234" is in the vocabulary, but the split "123" | "4" keeps it from forming.
  EXPECT_EQ(tok->encode("1234"), (std::vector<int32_t>{257, '4'}));
  EXPECT_EQ(tok->encode("12345"), (std::vector<int32_t>{257, '4', '5'}));
  EXPECT_EQ(tok->encode("I'VE"), (std::vector<int32_t>{'I', 261}));
  EXPECT_EQ(tok->encode("hello"), (std::vector<int32_t>{259}));  // ignore_merges
  EXPECT_EQ(tok->encode("<|begin_of_text|>hello<|end_of_text|>"),
            (std::vector<int32_t>{kBos, 259, kEos}));
  auto* bpe = dynamic_cast<const BpeTokenizer*>(tok.get());
  ASSERT_NE(bpe, nullptr);
  EXPECT_EQ(bpe->pre_tokenize("hello\n\n  world 12345"),
            (Pieces{"hello", "\xC4\x8A\xC4\x8A", "\xC4\xA0", "\xC4\xA0world", "\xC4\xA0", "123", "45"}));
  for (std::string text : {"1234", "I'VE been\n\n there",
                           "x\t\ty 3.14 \xc3\x9c"
                           "ber",
                           ""}) {
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
  }
}

TEST(TokenizerLlama3, WithoutIgnoreMergesWholeWordsAreNotLookedUp) {
  auto tok = load_small("merges", false);
  EXPECT_EQ(tok->encode("hello"), (std::vector<int32_t>{'h', 'e', 'l', 'l', 'o'}));
}

TEST(TokenizerLlama3, BosFromTemplate) {
  auto tok = load_small("bos");
  EXPECT_EQ(tok->vocab_size(), 264);
  EXPECT_TRUE(tok->uses_bos());
  EXPECT_EQ(tok->bos_id(), std::optional<int32_t>(kBos));
  EXPECT_EQ(tok->eos_id(), std::optional<int32_t>(kEos));
  EXPECT_EQ(tok->encode("1234", true), (std::vector<int32_t>{kBos, 257, '4'}));
  EXPECT_EQ(tok->encode("1234", false), (std::vector<int32_t>{257, '4'}));
  EXPECT_EQ(tok->decode(tok->encode("12", true)), "<|begin_of_text|>12");
}

// As transformers 5: with a tokenizer.json, its template decides the BOS and
// tokenizer_config.json's add_bos_token is ignored (AutoTokenizer still prepends it); the
// config still names the EOS.
TEST(TokenizerLlama3, TemplateDecidesBosConfigNamesEos) {
  auto tok =
      load_small("config", true,
                 json{{"add_bos_token", false}, {"eos_token", {{"content", "<|begin_of_text|>"}}}});
  EXPECT_TRUE(tok->uses_bos());
  EXPECT_EQ(tok->bos_id(), std::optional<int32_t>(kBos));
  EXPECT_EQ(tok->eos_id(), std::optional<int32_t>(kBos));
  EXPECT_EQ(tok->encode("12", true), (std::vector<int32_t>{kBos, 256}));
}

}  // namespace
}  // namespace crammer
