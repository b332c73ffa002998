// Corpus readers (text, jsonl, token-ids) on small files written here, the sentence-start rule,
// and the CorpusError messages for bad input (they must name the file and the line/field).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "crammer/text/corpus.hpp"
#include "crammer/util/error.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

class CorpusFiles : public test::ScratchFiles {};

// Runs fn, expects a CorpusError whose message holds every string of `parts`.
template <typename Fn>
void expect_corpus_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    FAIL() << "expected CorpusError";
  } catch (const CorpusError& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST_F(CorpusFiles, TextFilesAreOneDocumentEach) {
  auto a = write("a.txt", "\xEF\xBB\xBFOne. Two.\n");
  auto b = write("b.txt", "caf\xC3\xA9 \xE2\x80\x94 done");
  auto docs = read_text_documents({a, b});
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].source, a);
  EXPECT_EQ(docs[0].text, "One. Two.\n");  // BOM dropped
  EXPECT_EQ(docs[0].file_offset, 3);
  EXPECT_EQ(docs[1].file_offset, 0);
  EXPECT_EQ(docs[1].text, "caf\xC3\xA9 \xE2\x80\x94 done");
}

TEST_F(CorpusFiles, TextRejectsInvalidUtf8WithLine) {
  auto p = write("bad.txt", "fine\nstill fine\nbad \xFF byte\n");
  expect_corpus_error([&] { read_text_documents({p}); }, {p + ":3", "UTF-8", "0xff"});
  auto q = write("overlong.txt", "x\xC0\xAF");
  expect_corpus_error([&] { read_text_documents({q}); }, {q + ":1"});
}

TEST_F(CorpusFiles, MissingFileAndEmptyPathList) {
  expect_corpus_error([&] { read_text_documents({(dir_ / "nope.txt").string()}); }, {"nope.txt", "cannot open"});
  expect_corpus_error([&] { read_jsonl_documents({}, "text"); }, {"corpus.paths"});
  expect_corpus_error([&] { read_text_documents({dir_.string()}); }, {"is a directory"});
}

TEST_F(CorpusFiles, JsonlReadsTheTextField) {
  auto p = write("c.jsonl", "{\"text\": \"first doc\", \"id\": 1}\n\n{\"body\": 2, \"text\": \"second\\ndoc\"}\r\n");
  auto docs = read_jsonl_documents({p}, "text");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "first doc");
  EXPECT_EQ(docs[0].line, 1);
  EXPECT_EQ(docs[1].text, "second\ndoc");
  EXPECT_EQ(docs[1].line, 3);  // blank line 2 skipped, still counted
}

TEST_F(CorpusFiles, JsonlBadLinesNameFileLineAndField) {
  auto bad_json = write("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
  expect_corpus_error([&] { read_jsonl_documents({bad_json}, "text"); }, {bad_json + ":2", "not valid JSON"});
  auto missing = write("missing.jsonl", "{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n");
  expect_corpus_error([&] { read_jsonl_documents({missing}, "text"); }, {missing + ":2", "'text' missing"});
  auto wrong_type = write("type.jsonl", "{\"content\": 3}\n");
  expect_corpus_error([&] { read_jsonl_documents({wrong_type}, "content"); },
                      {wrong_type + ":1", "'content'", "number", "expected a string"});
  auto not_object = write("arr.jsonl", "[1, 2]\n");
  expect_corpus_error([&] { read_jsonl_documents({not_object}, "text"); }, {not_object + ":1", "object"});
}

TEST_F(CorpusFiles, TokenIdsReadAndChecked) {
  auto p = write("ids.jsonl", "[1, 2, 3]\n\n[50256, 0]\n");
  auto lines = read_token_id_lines({p});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(lines[1].ids, (std::vector<int32_t>{50256, 0}));
  EXPECT_EQ(lines[1].line, 3);
  check_token_ids(lines, 50257, "gpt2");  // all below
  expect_corpus_error([&] { check_token_ids(lines, 50000, "small"); },
                      {p + ":3", "element 0", "50256", "vocab size 50000", "'small'"});

  auto neg = write("neg.jsonl", "[1, -4]\n");
  expect_corpus_error([&] { read_token_id_lines({neg}); }, {neg + ":1", "element 1", "-4"});
  auto flt = write("flt.jsonl", "[1.5]\n");
  expect_corpus_error([&] { read_token_id_lines({flt}); }, {flt + ":1", "element 0", "1.5"});
  auto big = write("big.jsonl", "[4294967296]\n");
  expect_corpus_error([&] { read_token_id_lines({big}); }, {big + ":1", "4294967296"});
  auto obj = write("obj.jsonl", "{\"ids\": [1]}\n");
  expect_corpus_error([&] { read_token_id_lines({obj}); }, {obj + ":1", "array"});
}

TEST(SentenceStarts, FollowTheRule) {
  const std::string t =
      "Chapter 1\n\nIt was Mr. Elliot. He came!  \"Yes?\" she said? No.\nEnd of line 3.14 here.\n \nPara";
  std::vector<size_t> starts;
  for (size_t s = next_sentence_start(t, 0); s != std::string::npos; s = next_sentence_start(t, s + 1)) {
    starts.push_back(s);
  }
  std::vector<std::string> heads;
  for (auto s : starts) heads.push_back(t.substr(s, 4));
  // Not after "Mr.", not inside "3.14"; after a blank (whitespace-only) line; after '?' and '!'.
  EXPECT_EQ(heads, (std::vector<std::string>{"Chap", "It w", "He c", "\"Yes", "No.\n", "End ", "Para"}));
  for (auto s : starts) EXPECT_TRUE(is_sentence_start(t, s));
  EXPECT_FALSE(is_sentence_start(t, t.find("Elliot")));
  EXPECT_FALSE(is_sentence_start(t, t.find("14")));
  EXPECT_EQ(next_sentence_start("   ", 0), std::string::npos);
}

}  // namespace
}  // namespace crammer
