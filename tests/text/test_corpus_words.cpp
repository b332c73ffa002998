// Word lists: reading (dedupe, errors) and the frequency-ranked builder, including the shipped
// data/wordlists/austen-top5000.txt, which must be exactly what build_word_list makes.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "crammer/text/corpus_words.hpp"
#include "crammer/util/error.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

class WordFiles : public test::ScratchFiles {};

TEST_F(WordFiles, ReadSkipsBlanksAndDuplicates) {
  auto p = write("w.txt", "apple\n\n  pear \r\napple\nfig\n\t\n");
  EXPECT_EQ(read_word_list(p), (std::vector<std::string>{"apple", "pear", "fig"}));
}

TEST_F(WordFiles, ReadErrors) {
  auto empty = write("empty.txt", "\n  \n");
  try {
    read_word_list(empty);
    FAIL();
  } catch (const CorpusError& e) {
    EXPECT_NE(std::string(e.what()).find(empty), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no words"), std::string::npos) << e.what();
  }
  auto two = write("two.txt", "one\ntwo words\n");
  try {
    read_word_list(two);
    FAIL();
  } catch (const CorpusError& e) {
    EXPECT_NE(std::string(e.what()).find(two + ":2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_word_list((dir_ / "missing.txt").string()), CorpusError);
}

// The message of read_word_list(path), which must fail.
std::string word_list_error(const std::string& path) {
  try {
    read_word_list(path);
  } catch (const CorpusError& e) {
    return e.what();
  }
  ADD_FAILURE() << path << " was read";
  return "";
}

// A Latin-1 list names the key, the file, the line and the byte; a binary one says it is not
// text in one short line instead of quoting its bytes.
TEST_F(WordFiles, ForeignEncodingsAreNamedShortly) {
  const std::string latin1 = write("latin1.txt", "apple\ncaf\xE9\npear\n");
  std::string m = word_list_error(latin1);
  EXPECT_NE(m.find("corpus.word_list: " + latin1 + ":2: not valid UTF-8 (byte 0xE9 at column 4)"), std::string::npos)
      << m;
  EXPECT_NE(m.find("iconv -f latin1"), std::string::npos) << m;

  std::string binary = "\x1F\x8B\x08\x00";  // a gzip header, then 400 bytes of noise
  for (int i = 0; i < 400; ++i) binary.push_back(static_cast<char>((i * 37 + 11) % 256));
  const std::string gz = write("words.txt.gz", binary);
  m = word_list_error(gz);
  EXPECT_NE(m.find("corpus.word_list: " + gz + ": not a text file (byte 0x1F at offset 0)"), std::string::npos) << m;
  EXPECT_LT(m.size(), gz.size() + 120) << m;

  std::string wide = "ok\n" + std::string(200, 'x') + " " + std::string(200, 'y') + "\n";
  const std::string long_line = write("wide.txt", wide);
  m = word_list_error(long_line);
  EXPECT_NE(m.find(long_line + ":2: '" + std::string(40, 'x') + "...' holds whitespace"), std::string::npos) << m;
}

TEST_F(WordFiles, BuildCountsByHand) {
  // the x4 (The, the, THE, the), cat x3, sat x2, a x2, mat x1; don't/Anne's/caf(e) excluded;
  // 'quoted' counts as quoted; dog's -> excluded.
  auto a = write("a.txt", "The cat sat. The cat? 'Quoted' don't\n");
  auto b = write("b.txt", "THE_cat sat on a mat, a dog's caf\xC3\xA9 the Anne\xE2\x80\x99s.");
  auto words = build_word_list({a, b}, 0);
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& w : words) got.emplace_back(w.word, w.count);
  std::vector<std::pair<std::string, int64_t>> want = {
      {"the", 4}, {"cat", 3}, {"a", 2}, {"sat", 2}, {"mat", 1}, {"on", 1}, {"quoted", 1}};
  EXPECT_EQ(got, want);
  auto top2 = build_word_list({a, b}, 2);
  ASSERT_EQ(top2.size(), 2u);
  EXPECT_EQ(top2[1].word, "cat");

  auto out = (dir_ / "out.txt").string();
  write_word_list(words, out);
  EXPECT_EQ(read_word_list(out), (std::vector<std::string>{"the", "cat", "a", "sat", "mat", "on", "quoted"}));
}

TEST(ShippedWordList, IsWhatTheBuilderMakes) {
  const fs::path root(CRAMMER_SOURCE_DIR);
  std::vector<std::string> novels;
  for (const char* n : {"emma", "mansfieldpark", "northangerabbey", "prideprejudice", "sensesensibility"}) {
    novels.push_back((root / "data/corpora/austen" / (std::string(n) + ".txt")).string());
  }
  auto built = build_word_list(novels, 5000);
  std::ifstream in(root / "data/wordlists/austen-top5000.txt");
  ASSERT_TRUE(in) << "data/wordlists/austen-top5000.txt missing";
  std::vector<std::string> shipped;
  for (std::string line; std::getline(in, line);) shipped.push_back(line);
  ASSERT_EQ(shipped.size(), 5000u);
  ASSERT_EQ(built.size(), 5000u);
  for (size_t i = 0; i < built.size(); ++i) ASSERT_EQ(shipped[i], built[i].word) << "rank " << i;
  for (size_t i = 1; i < built.size(); ++i) ASSERT_GE(built[i - 1].count, built[i].count);
  EXPECT_EQ(built[0].word, "the");
}

}  // namespace
}  // namespace crammer
