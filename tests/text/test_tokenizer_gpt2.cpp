// GPT-2 byte-level BPE against llama.cpp's test vectors (ids produced by Hugging Face's
// tokenizer), from vocab.json + merges.txt and from tokenizer.json files built from them;
// round trips, special tokens, a whole-novel comparison with a naive reference BPE, speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "crammer/text/bpe.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/text/tokenizer_files.hpp"
#include "crammer/text/unicode.hpp"
#include "crammer/util/error.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

using json = nlohmann::json;
using test::fs::path;

const char* kGpt2Dir = "data/tokenizers/gpt2";

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

// llama.cpp's test-tokenizer-0 convention: inputs are separated by "\n__ggml_vocab_test__\n"
// (the newline before the marker belongs to the separator, not to the input); the .out
// file has one line of space-separated ids per input.
std::vector<Vector> read_vectors() {
  std::string inp =
      test::read_text(test::source_path("data/tokenizer-tests/gpt2/ggml-vocab-gpt-2.gguf.inp"));
  std::string out =
      test::read_text(test::source_path("data/tokenizer-tests/gpt2/ggml-vocab-gpt-2.gguf.out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) next = inp.size();
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Vector> vectors;
  std::istringstream lines(out);
  std::string line;
  for (const auto& text : inputs) {
    EXPECT_TRUE(std::getline(lines, line)) << "fewer .out lines than inputs";
    Vector v{text, {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    vectors.push_back(std::move(v));
  }
  EXPECT_FALSE(std::getline(lines, line)) << "more .out lines than inputs";
  return vectors;
}

// Writes DIR/tokenizer.json equivalent to the GPT-2 vocab.json + merges.txt.
void write_gpt2_tokenizer_json(const path& dir, bool pair_merges) {
  json vocab =
      json::parse(test::read_text(test::source_path(std::string(kGpt2Dir) + "/vocab.json")));
  std::istringstream merges_in(
      test::read_text(test::source_path(std::string(kGpt2Dir) + "/merges.txt")));
  json merges = json::array();
  std::string line;
  std::getline(merges_in, line);  // "#version: 0.2"
  while (std::getline(merges_in, line)) {
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (pair_merges) {
      merges.push_back(json::array({line.substr(0, space), line.substr(space + 1)}));
    } else {
      merges.push_back(line);
    }
  }
  json root = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", json::array({{{"id", 50256},
                                              {"content", "<|endoftext|>"},
                                              {"single_word", false},
                                              {"lstrip", false},
                                              {"rstrip", false},
                                              {"normalized", true},
                                              {"special", true}}})},
               {"normalizer", nullptr},
               {"pre_tokenizer",
                {{"type", "ByteLevel"},
                 {"add_prefix_space", false},
                 {"trim_offsets", true},
                 {"use_regex", true}}},
               {"post_processor",
                {{"type", "ByteLevel"},
                 {"add_prefix_space", true},
                 {"trim_offsets", false},
                 {"use_regex", true}}},
               {"decoder", {{"type", "ByteLevel"}}},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", ""},
                 {"end_of_word_suffix", ""},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"vocab", vocab},
                 {"merges", merges}}}};
  test::write_text(dir / "tokenizer.json", root.dump());
}

const Tokenizer& gpt2() {
  static std::unique_ptr<Tokenizer> tok = load_tokenizer(test::source_path(kGpt2Dir).string());
  return *tok;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += " " + std::to_string(id);
  return s;
}

TEST(TokenizerGpt2, LlamaCppVectorsFromVocabAndMerges) {
  auto vectors = read_vectors();
  ASSERT_EQ(vectors.size(), 46u);
  EXPECT_EQ(vectors[2].text, "");    // an empty input, expecting no ids
  EXPECT_EQ(vectors[7].text, "\n");  // the newline before the marker is the separator's
  EXPECT_EQ(vectors[7].ids, std::vector<int32_t>{198});
  for (const auto& v : vectors) {
    EXPECT_EQ(show(gpt2().encode(v.text)), show(v.ids)) << "input: [" << v.text << "]";
  }
}

TEST(TokenizerGpt2, RoundTripOnVectors) {
  for (const auto& v : read_vectors()) {
    EXPECT_EQ(gpt2().decode(gpt2().encode(v.text)), v.text);
    EXPECT_EQ(gpt2().decode(v.ids), v.text);  // decode of the reference ids, too
  }
}

TEST(TokenizerGpt2, FamilyFacts) {
  EXPECT_EQ(gpt2().vocab_size(), 50257);
  EXPECT_EQ(gpt2().eos_id(), std::optional<int32_t>(50256));
  EXPECT_EQ(gpt2().bos_id(), std::optional<int32_t>(50256));  // GPT-2 convention
  EXPECT_FALSE(gpt2().uses_bos());
  // No BOS for GPT-2, even when asked.
  EXPECT_EQ(gpt2().encode("Hello world", true), gpt2().encode("Hello world", false));
  EXPECT_TRUE(has_tokenizer(test::source_path(kGpt2Dir).string()));
  EXPECT_NE(gpt2().describe().find("50257"), std::string::npos) << gpt2().describe();
}

TEST(TokenizerGpt2, SpecialTokenMatchedBeforePreTokenization) {
  auto a = gpt2().encode("Hello world");
  auto b = gpt2().encode(" The end.");
  std::vector<int32_t> expected = a;
  expected.push_back(50256);
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(gpt2().encode("Hello world<|endoftext|> The end."), expected);
  EXPECT_EQ(gpt2().decode(expected), "Hello world<|endoftext|> The end.");
  // A near miss is ordinary text.
  auto near = gpt2().encode("<|endoftext|");
  EXPECT_EQ(std::count(near.begin(), near.end(), 50256), 0);
}

TEST(TokenizerGpt2, ByteMapIsABijection) {
  const auto& map = byte_to_unicode();
  std::set<uint32_t> seen(map.begin(), map.end());
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(map[' '], 0x120u);   // 'Ġ'
  EXPECT_EQ(map['\n'], 0x10Au);  // 'Ċ'
  EXPECT_EQ(map['A'], static_cast<uint32_t>('A'));
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string mapped = bytes_to_byte_level(all);
  std::string back;
  for (size_t i = 0; i < mapped.size();) {
    size_t len = 0;
    const int b = byte_level_byte(next_code_point(mapped, i, len));
    ASSERT_GE(b, 0) << "at byte " << i;
    back += static_cast<char>(b);
    i += len;
  }
  EXPECT_EQ(back, all);
  EXPECT_EQ(byte_level_byte(0x4E00), -1);  // outside the map
}

TEST(TokenizerGpt2, TokenizerJsonEncodesIdentically) {
  auto vectors = read_vectors();
  std::string novel = test::read_text(test::source_path("data/corpora/austen/persuasion.txt"));
  auto reference = gpt2().encode(novel);
  for (bool pairs : {false, true}) {
    SCOPED_TRACE(pairs ? "merges as [a, b] pairs" : "merges as \"a b\" strings");
    auto dir = test::scratch_dir(pairs ? "pairs" : "strings");
    write_gpt2_tokenizer_json(dir, pairs);
    auto tok = load_tokenizer(dir.string());
    EXPECT_EQ(tok->vocab_size(), 50257);
    EXPECT_FALSE(tok->uses_bos());
    EXPECT_EQ(tok->eos_id(), std::optional<int32_t>(50256));
    for (const auto& v : vectors) EXPECT_EQ(show(tok->encode(v.text)), show(v.ids)) << v.text;
    EXPECT_EQ(tok->encode(novel), reference);
    EXPECT_EQ(tok->encode("a<|endoftext|>b"), gpt2().encode("a<|endoftext|>b"));
  }
}

TEST(TokenizerGpt2, AddPrefixSpace) {
  auto dir = test::scratch_dir("prefix");
  write_gpt2_tokenizer_json(dir, false);
  json root = json::parse(test::read_text(dir / "tokenizer.json"));
  root["pre_tokenizer"]["add_prefix_space"] = true;
  test::write_text(dir / "tokenizer.json", root.dump());
  auto tok = load_tokenizer(dir.string());
  EXPECT_EQ(tok->encode("Hello world"), gpt2().encode(" Hello world"));
  EXPECT_EQ(tok->encode(" Hello world"), gpt2().encode(" Hello world"));  // already has one
}

// The textbook GPT-2 loop, written independently of bpe.cpp: repeatedly merge every
// occurrence of the lowest-ranked adjacent pair, on byte-level strings.
std::vector<std::string> naive_bpe(
    const std::string& piece, const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> word;
  std::string mapped = bytes_to_byte_level(piece);
  for (size_t i = 0; i < mapped.size();) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(mapped[i]);
    if (c >= 0xC0) len = c >= 0xE0 ? 3 : 2;
    word.push_back(mapped.substr(i, len));
    i += len;
  }
  while (word.size() > 1) {
    int best = -1;
    std::pair<std::string, std::string> best_pair;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks.find({word[i], word[i + 1]});
      if (it != ranks.end() && (best < 0 || it->second < best)) {
        best = it->second;
        best_pair = it->first;
      }
    }
    if (best < 0) break;
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == best_pair.first && word[i + 1] == best_pair.second) {
        merged.push_back(word[i] + word[i + 1]);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

TEST(TokenizerGpt2, NovelMatchesNaiveReferenceBpeAndRoundTrips) {
  std::string novel = test::read_text(test::source_path("data/corpora/austen/persuasion.txt"));
  json vocab =
      json::parse(test::read_text(test::source_path(std::string(kGpt2Dir) + "/vocab.json")));
  std::map<std::pair<std::string, std::string>, int> ranks;
  std::istringstream merges_in(
      test::read_text(test::source_path(std::string(kGpt2Dir) + "/merges.txt")));
  std::string line;
  std::getline(merges_in, line);
  for (int rank = 0; std::getline(merges_in, line);) {
    if (line.empty()) continue;
    size_t space = line.find(' ');
    ranks.emplace(std::make_pair(line.substr(0, space), line.substr(space + 1)), rank++);
  }
  RegexSplitter splitter(kGpt2Pattern, false, "test");
  std::vector<int32_t> expected;
  std::map<std::string, std::vector<int32_t>> memo;  // the naive loop is slow; pieces repeat
  for (auto piece : splitter.split(novel, SplitBehavior::isolated)) {
    auto [it, fresh] = memo.try_emplace(std::string(piece));
    if (fresh) {
      for (const auto& sym : naive_bpe(it->first, ranks))
        it->second.push_back(vocab.at(sym).get<int32_t>());
    }
    expected.insert(expected.end(), it->second.begin(), it->second.end());
  }
  auto ids = gpt2().encode(novel);
  ASSERT_EQ(ids.size(), expected.size());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(gpt2().decode(ids), novel);
}

// The figures are printed for the record; speed is not asserted here (no wall-clock threshold in
// a unit test).
TEST(TokenizerGpt2, WholeNovelEncodesAlikeWithACacheColdAndWarm) {
  // A fresh tokenizer, so the cache starts empty as it would in a run.
  auto tok = load_tokenizer(test::source_path(kGpt2Dir).string());
  std::string novel = test::read_text(test::source_path("data/corpora/austen/emma.txt"));
  auto t0 = std::chrono::steady_clock::now();
  auto ids = tok->encode(novel);
  double cold = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  auto again = tok->encode(novel);
  double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ids, again);
  std::printf(
      "emma.txt: %zu bytes -> %zu tokens; cold cache %.3f s (%.0f tokens/s, %.2f MB/s), "
      "warm cache %.3f s (%.0f tokens/s)\n",
      novel.size(), ids.size(), cold, ids.size() / cold, novel.size() / cold / 1e6, warm,
      ids.size() / warm);
}

TEST(TokenizerGpt2, InvalidUtf8AndBadIdsAreTokenizerErrors) {
  try {
    gpt2().encode(std::string("ok \xff\xfe bad"));
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8 at byte 3"), std::string::npos)
        << e.what();
  }
  try {
    gpt2().decode({15496, 50257});
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("id 50257"), std::string::npos) << e.what();
  }
}

TEST(TokenizerGpt2, NfcNormalizerAsInPythia) {
  auto dir = test::scratch_dir("nfc");
  write_gpt2_tokenizer_json(dir, false);
  json root = json::parse(test::read_text(dir / "tokenizer.json"));
  root["normalizer"] = {{"type", "NFC"}};
  test::write_text(dir / "tokenizer.json", root.dump());
  auto tok = load_tokenizer(dir.string());
  EXPECT_EQ(tok->encode("Hello world<|endoftext|>"), gpt2().encode("Hello world<|endoftext|>"));
  const std::string decomposed = "Cafe\xcc\x81 \xe2\x84\xab";  // "Cafe" U+0301, U+212B (Angstrom)
  const std::string composed = "Caf\xc3\xa9 \xc3\x85";         // "Café Å"
  ASSERT_NE(gpt2().encode(decomposed), gpt2().encode(composed));  // without NFC they differ
#ifdef CRAMMER_HAVE_ICU
  EXPECT_EQ(tok->encode(decomposed), gpt2().encode(composed));
  EXPECT_EQ(tok->decode(tok->encode(decomposed)), composed);
#else
  try {
    tok->encode(decomposed);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("ICU"), std::string::npos) << e.what();
  }
#endif
}

}  // namespace
}  // namespace crammer
