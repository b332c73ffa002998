// The sample builder on real data (Austen novels, the GPT-2 tokenizer): samples start at sentence
// starts, their ids match an independent tokenization, they are reproducible, depend only on
// the seed and the sample index, and do not overlap; random-word texts use only listed words;
// token-id samples are the corpus lines.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crammer/text/corpus.hpp"
#include "crammer/text/corpus_samples.hpp"
#include "crammer/text/corpus_words.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot(CRAMMER_SOURCE_DIR);

const Tokenizer& gpt2() {
  static auto tok = load_tokenizer((kRoot / "data/tokenizers/gpt2").string());
  return *tok;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CorpusConfig austen(int64_t samples, uint64_t seed) {
  CorpusConfig c;
  c.format = "text";
  for (const char* n : {"emma", "persuasion", "northangerabbey"}) {
    c.paths.push_back((kRoot / "data/corpora/austen" / (std::string(n) + ".txt")).string());
  }
  c.samples = samples;
  c.seed = seed;
  return c;
}

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

TEST(NaturalSamples, StartAtSentencesAndMatchTokenization) {
  const int64_t L = 64;
  auto cfg = austen(12, 7);
  auto samples = build_samples(cfg, L, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}});
  ASSERT_EQ(samples.size(), 12u);
  std::map<std::string, std::string> texts;
  for (const auto& s : samples) {
    if (!texts.count(s.source)) texts[s.source] = slurp(s.source);
    const std::string& doc = texts[s.source];
    const size_t off = static_cast<size_t>(s.text_offset);
    ASSERT_LT(off, doc.size());
    EXPECT_EQ(s.offset, s.text_offset);  // text format: the offset in the file (no BOM here)
    // The character before the span, whitespace skipped, ends a sentence or a paragraph.
    EXPECT_FALSE(is_ws(doc[off]));
    size_t b = off;
    int newlines = 0;
    while (b > 0 && is_ws(doc[b - 1])) newlines += doc[--b] == '\n';
    ASSERT_GT(off, b) << "sample " << s.sample_id << " starts inside a word";
    const char prev = doc[b - 1];
    EXPECT_TRUE(prev == '.' || prev == '!' || prev == '?' || newlines >= 2)
        << "sample " << s.sample_id << " follows '" << doc.substr(b > 20 ? b - 20 : 0, 21) << "'";
    // Ids: the first L tokens of an independent tokenization of a much longer stretch.
    size_t end = std::min(doc.size(), off + 40 * L);
    while (end < doc.size() && !is_ws(doc[end])) --end;
    auto ref = gpt2().encode(std::string_view(doc).substr(off, end - off));
    ASSERT_GE(ref.size(), static_cast<size_t>(L));
    ref.resize(L);
    EXPECT_EQ(s.token_ids[0], ref) << "sample " << s.sample_id;
    // The text is the decoded ids, and it is the document's text at the offset.
    EXPECT_EQ(s.texts[0], gpt2().decode(s.token_ids[0]));
    EXPECT_EQ(doc.compare(off, s.texts[0].size(), s.texts[0]), 0) << "sample " << s.sample_id;
  }
  // No two samples overlap (the corpus is far larger than 12 x 64 tokens).
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      if (samples[i].source != samples[j].source) continue;
      auto a0 = samples[i].text_offset, a1 = a0 + static_cast<int64_t>(samples[i].texts[0].size());
      auto b0 = samples[j].text_offset, b1 = b0 + static_cast<int64_t>(samples[j].texts[0].size());
      EXPECT_TRUE(a1 <= b0 || b1 <= a0) << "samples " << i << " and " << j << " overlap";
    }
  }
  // Not all from one place: the three novels are all drawn from with 12 samples (seed 7).
  std::set<std::string> sources;
  for (const auto& s : samples) sources.insert(s.source);
  EXPECT_GE(sources.size(), 2u);
}

TEST(NaturalSamples, DependOnlyOnSeedAndIndex) {
  const SampleModel m{"gpt2", &gpt2(), 0, std::nullopt};
  auto a = build_samples(austen(6, 3), 32, {m});
  auto b = build_samples(austen(6, 3), 32, {m});
  auto more = build_samples(austen(9, 3), 32, {m});
  auto other = build_samples(austen(6, 4), 32, {m});
  ASSERT_EQ(more.size(), 9u);
  int differ = 0;
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(a[i].source, b[i].source);
    EXPECT_EQ(a[i].text_offset, b[i].text_offset);
    EXPECT_EQ(a[i].token_ids, b[i].token_ids);
    EXPECT_EQ(a[i].text_offset, more[i].text_offset) << "sample " << i << " changed with corpus.samples";
    EXPECT_EQ(a[i].token_ids, more[i].token_ids);
    differ += a[i].text_offset != other[i].text_offset || a[i].source != other[i].source;
  }
  EXPECT_GE(differ, 5) << "another seed should give other samples";
}

TEST(NaturalSamples, ShortDocumentGivesShortSamples) {
  const test::TempDir tmp("corpus");
  const fs::path dir = tmp.root();
  const std::string text = "A short one. It has few words! Does it end soon? Yes.\n";
  std::ofstream(dir / "short.txt") << text;
  CorpusConfig c;
  c.paths = {(dir / "short.txt").string()};
  c.samples = 3;
  auto samples = build_samples(c, 64, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}});
  ASSERT_EQ(samples.size(), 3u);
  for (const auto& s : samples) {
    // The whole rest of the document from a sentence start, nothing padded.
    auto rest = text.substr(static_cast<size_t>(s.text_offset));
    EXPECT_EQ(s.token_ids[0], gpt2().encode(rest));
    EXPECT_LT(s.token_ids[0].size(), 64u);
  }
}

TEST(NaturalSamples, JsonlDocumentsKeepLineAndFieldOffset) {
  const test::TempDir tmp("corpus");
  const fs::path dir = tmp.root();
  const std::string emma = slurp((kRoot / "data/corpora/austen/emma.txt").string());
  std::vector<std::string> fields;
  {
    std::ofstream out(dir / "docs.jsonl");
    for (size_t i = 0; i < 4; ++i) {
      fields.push_back(emma.substr(100000 * (i + 1), 6000));
      out << nlohmann::json{{"id", i}, {"body", fields.back()}}.dump() << "\n";
    }
  }
  CorpusConfig c;
  c.format = "jsonl";
  c.text_field = "body";
  c.paths = {(dir / "docs.jsonl").string()};
  c.samples = 6;
  auto samples = build_samples(c, 40, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}});
  for (const auto& s : samples) {
    ASSERT_GE(s.offset, 1);
    ASSERT_LE(s.offset, 4);
    const std::string& field = fields[static_cast<size_t>(s.offset - 1)];
    EXPECT_TRUE(is_sentence_start(field, static_cast<size_t>(s.text_offset)));
    EXPECT_EQ(field.compare(static_cast<size_t>(s.text_offset), s.texts[0].size(), s.texts[0]), 0);
    EXPECT_EQ(s.token_ids[0].size(), 40u);
  }
}

TEST(NaturalSamples, EmptyCorpusIsAnError) {
  const test::TempDir tmp("corpus");
  const fs::path dir = tmp.root();
  std::ofstream(dir / "blank.txt") << " \n\n ";
  CorpusConfig c;
  c.paths = {(dir / "blank.txt").string()};
  EXPECT_THROW(build_samples(c, 16, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}}), CorpusError);
}

TEST(RandomWords, UseOnlyListedWords) {
  const std::string list = (kRoot / "data/wordlists/austen-top5000.txt").string();
  const auto words = read_word_list(list);
  const std::set<std::string> allowed(words.begin(), words.end());
  CorpusConfig c;
  c.text_kind = {"random-words"};
  c.word_list = list;
  c.samples = 5;
  c.seed = 11;
  const int64_t L = 48;
  auto samples = build_samples(c, L, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}});
  auto again = build_samples(c, L, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}});
  ASSERT_EQ(samples.size(), 5u);
  std::set<std::string> distinct;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    EXPECT_EQ(s.text_kind, "random-words");
    ASSERT_EQ(s.token_ids[0].size(), static_cast<size_t>(L));
    EXPECT_EQ(s.token_ids[0], again[i].token_ids[0]);
    std::istringstream in(s.texts[0]);
    std::vector<std::string> got;
    for (std::string w; in >> w;) got.push_back(w);
    ASSERT_GE(got.size(), 2u);
    // The last word may be cut by the L-token limit: then it is the start of a listed word.
    for (size_t k = 0; k + 1 < got.size(); ++k) EXPECT_TRUE(allowed.count(got[k])) << got[k];
    bool prefix = std::any_of(words.begin(), words.end(),
                              [&](const std::string& w) { return w.rfind(got.back(), 0) == 0; });
    EXPECT_TRUE(prefix) << got.back();
    distinct.insert(got.begin(), got.end());
  }
  EXPECT_GT(distinct.size(), 100u);  // 5 x ~45 draws from 5000 words: nearly all distinct
  c.word_list = (fs::path(CRAMMER_BINARY_DIR) / "no-such-list.txt").string();
  EXPECT_THROW(build_samples(c, L, {SampleModel{"gpt2", &gpt2(), 0, std::nullopt}}), CorpusError);
}

// Both kinds in one sweep: `samples` of each, ids numbered on, each kind's texts the same as in
// a sweep of that kind alone (their streams are independent).
TEST(MixedKinds, NaturalThenRandomWordsWithIdsNumberedOn) {
  const SampleModel m{"gpt2", &gpt2(), 0, std::nullopt};
  auto natural = austen(4, 5);
  auto words = natural;
  words.text_kind = {"random-words"};
  words.word_list = (kRoot / "data/wordlists/austen-top5000.txt").string();
  auto both = words;
  both.text_kind = {"natural", "random-words"};
  const auto a = build_samples(natural, 24, {m});
  const auto b = build_samples(words, 24, {m});
  const auto ab = build_samples(both, 24, {m});
  ASSERT_EQ(ab.size(), 8u);
  for (size_t i = 0; i < ab.size(); ++i) {
    const auto& alone = i < 4 ? a[i] : b[i - 4];
    EXPECT_EQ(ab[i].sample_id, static_cast<int64_t>(i));
    EXPECT_EQ(ab[i].text_kind, i < 4 ? "natural" : "random-words");
    EXPECT_EQ(ab[i].source, alone.source);
    EXPECT_EQ(ab[i].token_ids, alone.token_ids);
  }
}

TEST(TokenIds, SamplesAreLinesInOrder) {
  const test::TempDir tmp("corpus");
  const fs::path dir = tmp.root();
  std::ofstream(dir / "a.jsonl") << "[1,2,3,4,5]\n[6,7]\n";
  std::ofstream(dir / "b.jsonl") << "[8,9,10]\n[60000]\n";
  CorpusConfig c;
  c.format = "token-ids";
  c.paths = {(dir / "a.jsonl").string(), (dir / "b.jsonl").string()};
  c.samples = 3;
  auto s = build_samples(c, 4, {SampleModel{"m", nullptr, 100, std::nullopt}, SampleModel{"g", &gpt2(), 50257, std::nullopt}});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].token_ids[0], (std::vector<int32_t>{1, 2, 3, 4}));  // cut to max length
  EXPECT_EQ(s[1].token_ids[1], (std::vector<int32_t>{6, 7}));
  EXPECT_EQ(s[2].token_ids[0], (std::vector<int32_t>{8, 9, 10}));
  EXPECT_EQ(s[2].source, c.paths[1]);
  EXPECT_EQ(s[2].offset, 1);
  EXPECT_EQ(s[0].texts[0], "");
  EXPECT_EQ(s[0].texts[1], gpt2().decode({1, 2, 3, 4}));

  c.samples = 4;  // line 2 of b.jsonl holds 60000 >= 50257
  try {
    build_samples(c, 4, {SampleModel{"g", &gpt2(), 50257, std::nullopt}});
    FAIL();
  } catch (const CorpusError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(c.paths[1] + ":2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("60000 >= vocab size 50257 of model 'g'"), std::string::npos) << msg;
  }
  c.samples = 5;
  try {
    build_samples(c, 4, {SampleModel{"g", &gpt2(), 50257, std::nullopt}});
    FAIL();
  } catch (const CorpusError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("corpus.samples = 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("only 4"), std::string::npos) << msg;
  }
}

TEST(SampleRng, BelowIsUniformAndStreamsDiffer) {
  SampleRng r(0, 1, 0);
  std::vector<int> hist(7, 0);
  for (int i = 0; i < 70000; ++i) hist[r.below(7)]++;
  for (int h : hist) EXPECT_NEAR(h, 10000, 500);  // ~5 sigma
  EXPECT_NE(SampleRng(0, 1, 0).next(), SampleRng(0, 2, 0).next());
  EXPECT_NE(SampleRng(0, 1, 0).next(), SampleRng(0, 1, 1).next());
  EXPECT_NE(SampleRng(0, 1, 0).next(), SampleRng(1, 1, 0).next());
  EXPECT_EQ(SampleRng(5, 1, 9).next(), SampleRng(5, 1, 9).next());
}

}  // namespace
}  // namespace crammer
