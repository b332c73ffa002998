// Bad tokenizer files: each case must throw TokenizerError whose message names the file and
// the field (and, where it helps, what is supported).
#include <gtest/gtest.h>

#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "test_tokenizer_util.hpp"

namespace crammer {
namespace {

using json = nlohmann::json;

// A valid minimal byte-level tokenizer.json: all 256 bytes (id = byte) and one merge.
json minimal_json() {
  json vocab = json::object();
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    // Byte-level text of byte b, via GPT-2's map: printable Latin-1 stays, others move up.
    bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    uint32_t cp = keep ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab[s] = b;
  }
  vocab["ab"] = 256;
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b"})}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
          {"added_tokens", json::array()}};
}

// Loads DIR and returns the TokenizerError message ("" and a test failure when none).
std::string error_of(const test::fs::path& dir) {
  try {
    load_tokenizer(dir.string());
  } catch (const TokenizerError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a TokenizerError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error for " << dir;
  return "";
}

std::string error_of_json(const std::string& name, const std::string& text) {
  auto dir = test::scratch_dir(name);
  test::write_text(dir / "tokenizer.json", text);
  return error_of(dir);
}

#define EXPECT_MENTIONS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: " << (message)

TEST(TokenizerErrors, MinimalFileIsValid) {
  auto dir = test::scratch_dir("ok");
  test::write_text(dir / "tokenizer.json", minimal_json().dump());
  auto tok = load_tokenizer(dir.string());
  EXPECT_EQ(tok->encode("abc"), (std::vector<int32_t>{256, 'c'}));
}

// SmolLM2's tokenizer.json: a ByteLevel pre-tokenizer with model.byte_fallback true is a
// byte-level BPE, not a SentencePiece-style one. As in Hugging Face's BPE, a byte whose symbol
// the vocabulary lacks becomes the <0xXX> tokens of that symbol's UTF-8 bytes when they exist,
// else the unk token (once per run with fuse_unk), else an error naming the byte.
TEST(TokenizerErrors, ByteLevelWithByteFallback) {
  json j = minimal_json();
  j["model"]["byte_fallback"] = true;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}}})}};
  auto load = [](const std::string& name, const json& file) {
    auto dir = test::scratch_dir(name);
    test::write_text(dir / "tokenizer.json", file.dump());
    return load_tokenizer(dir.string());
  };
  auto tok = load("fallback", j);
  EXPECT_EQ(tok->encode("abc 12"), (std::vector<int32_t>{256, 'c', ' ', '1', '2'}));
  // Byte 0x04's symbol is U+0104 (UTF-8 C4 84); without it: <0xC4> <0x84>, else the unk token.
  j["model"]["vocab"].erase("\xC4\x84");
  auto no_unk = load("no_unk", j);  // loads: like Hugging Face, fails only when a text needs it
  EXPECT_THROW(no_unk->encode("a\x04"), TokenizerError);
  j["model"]["vocab"]["<0xC4>"] = 300;
  j["model"]["vocab"]["<0x84>"] = 301;
  EXPECT_EQ(load("bytes", j)->encode("a\x04\x04" "b"), (std::vector<int32_t>{'a', 300, 301, 300, 301, 'b'}));
  j["model"]["vocab"].erase("<0x84>");
  j["model"]["vocab"]["<unk>"] = 302;
  j["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(load("unk", j)->encode("a\x04\x04" "b"), (std::vector<int32_t>{'a', 302, 302, 'b'}));
  j["model"]["fuse_unk"] = true;
  EXPECT_EQ(load("fused", j)->encode("a\x04\x04" "b"), (std::vector<int32_t>{'a', 302, 'b'}));
}

// Found by fuzz_vocab_merges: an id past int32 was truncated, and a huge one sized the id table
// to gigabytes. Both are errors naming the token.
TEST(TokenizerErrors, IdsOutsideInt32OrFarPastTheVocabulary) {
  json j = minimal_json();
  j["model"]["vocab"]["ab"] = 5555555555112;
  auto msg = error_of_json("id_int64", j.dump());
  EXPECT_MENTIONS(msg, "model.vocab[\"ab\"]");
  EXPECT_MENTIONS(msg, "expected an integer id in [0, 2^31)");
  j["model"]["vocab"]["ab"] = 153000000;
  msg = error_of_json("id_far", j.dump());
  EXPECT_MENTIONS(msg, "id 153000000 is far beyond the 257 tokens it holds");
  j = minimal_json();
  j["added_tokens"] = json::array({{{"id", -1}, {"content", "<x>"}}});
  EXPECT_MENTIONS(error_of_json("added_negative", j.dump()), "added_tokens[0].id");
}

// Found by fuzz_tokenizer_json: a field of an unexpected type let nlohmann's exception escape.
TEST(TokenizerErrors, FieldOfAnUnexpectedTypeIsATokenizerError) {
  json j = minimal_json();
  j["pre_tokenizer"]["type"] = true;
  const auto msg = error_of_json("type_bool", j.dump());
  EXPECT_MENTIONS(msg, "tokenizer.json");
}

TEST(TokenizerErrors, NoFilesListsWhatWasLookedFor) {
  auto dir = test::scratch_dir("empty");
  EXPECT_FALSE(has_tokenizer(dir.string()));
  auto msg = error_of(dir);
  EXPECT_MENTIONS(msg, dir.string());
  for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model"}) {
    EXPECT_MENTIONS(msg, name);
  }
  EXPECT_MENTIONS(error_of(dir / "missing"), "not a directory");
}

TEST(TokenizerErrors, VocabWithoutMerges) {
  auto dir = test::scratch_dir("half");
  test::write_text(dir / "vocab.json", R"({"a": 0})");
  auto msg = error_of(dir);
  EXPECT_MENTIONS(msg, "vocab.json");
  EXPECT_MENTIONS(msg, "merges.txt");
}

TEST(TokenizerErrors, MissingModelSection) {
  auto msg = error_of_json("nomodel", R"({"version": "1.0", "added_tokens": []})");
  EXPECT_MENTIONS(msg, "tokenizer.json");
  EXPECT_MENTIONS(msg, "model");
}

TEST(TokenizerErrors, UnsupportedModelTypesSayWhatIsSupported) {
  for (const char* type : {"Unigram", "WordPiece", "WordLevel"}) {
    json j = minimal_json();
    j["model"]["type"] = type;
    auto msg = error_of_json(type, j.dump());
    EXPECT_MENTIONS(msg, "tokenizer.json");
    EXPECT_MENTIONS(msg, "model.type");
    EXPECT_MENTIONS(msg, type);
    EXPECT_MENTIONS(msg, "supported: \"BPE\"");
  }
}

TEST(TokenizerErrors, MalformedJson) {
  auto msg = error_of_json("malformed", R"({"model": {"type": "BPE", "vocab": {"a": 0,}})");
  EXPECT_MENTIONS(msg, "tokenizer.json");
  EXPECT_MENTIONS(msg, "malformed JSON");
  EXPECT_MENTIONS(msg, "line 1");  // nlohmann's position
}

TEST(TokenizerErrors, MergeWithUnknownSymbol) {
  json j = minimal_json();
  j["model"]["merges"].push_back("ab zz");
  auto msg = error_of_json("unknown", j.dump());
  EXPECT_MENTIONS(msg, "tokenizer.json");
  EXPECT_MENTIONS(msg, "model.merges[1]");
  EXPECT_MENTIONS(msg, "unknown symbol 'zz'");

  j = minimal_json();
  j["model"]["merges"].push_back("b c");  // both known, but "bc" is not a token
  msg = error_of_json("result", j.dump());
  EXPECT_MENTIONS(msg, "model.merges[1]");
  EXPECT_MENTIONS(msg, "'bc'");

  j = minimal_json();
  j["model"]["merges"].push_back("abc");
  msg = error_of_json("shape", j.dump());
  EXPECT_MENTIONS(msg, "model.merges[1]");
  EXPECT_MENTIONS(msg, "\"a b\"");
}

TEST(TokenizerErrors, MergesTxtNamesTheLine) {
  auto dir = test::scratch_dir("txt");
  json vocab = minimal_json()["model"]["vocab"];
  test::write_text(dir / "vocab.json", vocab.dump());
  test::write_text(dir / "merges.txt", "#version: 0.2\na b\nq zz\n");
  auto msg = error_of(dir);
  EXPECT_MENTIONS(msg, "merges.txt: line 3");
  EXPECT_MENTIONS(msg, "unknown symbol 'zz'");
  EXPECT_MENTIONS(msg, "vocab.json");
  test::write_text(dir / "merges.txt", "#version: 0.2\na b c\n");
  msg = error_of(dir);
  EXPECT_MENTIONS(msg, "merges.txt: line 2");
  test::write_text(dir / "vocab.json", R"({"a": "zero"})");
  msg = error_of(dir);
  EXPECT_MENTIONS(msg, "vocab.json");
  EXPECT_MENTIONS(msg, "[\"a\"]");
}

TEST(TokenizerErrors, FieldsOfTheRestOfTheFile) {
  json j = minimal_json();
  j["model"]["vocab"] = json::array();
  EXPECT_MENTIONS(error_of_json("vocab", j.dump()), "model.vocab: expected an object");

  j = minimal_json();
  j["added_tokens"] = json::array({{{"content", "<x>"}}});
  EXPECT_MENTIONS(error_of_json("added", j.dump()), "added_tokens[0].id");

  j = minimal_json();
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array(
           {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}},
            {{"type", "ByteLevel"}}})}};
  auto msg = error_of_json("regex", j.dump());
  EXPECT_MENTIONS(msg, "pre_tokenizer");
  EXPECT_MENTIONS(msg, "(unclosed");

  // A pipeline component crammer lacks is named with its field and the supported list.
  j = minimal_json();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "UnicodeScripts"}}})}};
  msg = error_of_json("pretype", j.dump());
  EXPECT_MENTIONS(msg, "pre_tokenizer.pretokenizers[0].type: \"UnicodeScripts\" is not supported");
  EXPECT_MENTIONS(msg, "supported: Sequence, ByteLevel, Split, Digits, Metaspace");

  j = minimal_json();
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "Precompiled"}}})}};
  msg = error_of_json("norm", j.dump());
  EXPECT_MENTIONS(msg, "normalizer.normalizers[1].type: \"Precompiled\" is not supported");
  EXPECT_MENTIONS(msg, "supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase");

  j = minimal_json();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_MENTIONS(error_of_json("decoder", j.dump()), "decoder.type: \"WordPiece\" is not supported");

  j = minimal_json();
  j["post_processor"] = {{"type", "Sequence"},
                         {"processors", json::array({{{"type", "ByteLevel"}}, {{"type", "Magic"}}})}};
  EXPECT_MENTIONS(error_of_json("post", j.dump()),
                  "post_processor.processors[1].type: \"Magic\" is not supported");

  j = minimal_json();
  j["model"]["dropout"] = 0.1;
  EXPECT_MENTIONS(error_of_json("dropout", j.dump()), "model.dropout: 0.1 is not supported");

  j = minimal_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  EXPECT_MENTIONS(error_of_json("behavior", j.dump()),
                  "pre_tokenizer.behavior: expected Isolated, Removed, MergedWithPrevious");

  j = minimal_json();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  EXPECT_MENTIONS(error_of_json("replacement", j.dump()),
                  "pre_tokenizer.replacement: expected one character, got \"ab\"");

  // A character neither in the vocabulary nor covered by byte_fallback or unk_token: the
  // error names it (Hugging Face would drop it silently; a crammed text must not lose text).
  j = minimal_json();
  j.erase("pre_tokenizer");
  {
    auto dir = test::scratch_dir("no_char");
    test::write_text(dir / "tokenizer.json", j.dump());
    auto tok = load_tokenizer(dir.string());
    EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{256}));
    try {
      tok->encode("a\xE2\x82\xAC");
      ADD_FAILURE() << "no error for a character outside the vocabulary";
    } catch (const TokenizerError& e) {
      EXPECT_MENTIONS(std::string(e.what()), "(U+20AC) is not in the vocabulary");
    }
  }
}

TEST(TokenizerErrors, ConfigNamesUnknownSpecialToken) {
  auto dir = test::scratch_dir("config");
  test::write_text(dir / "tokenizer.json", minimal_json().dump());
  test::write_text(dir / "tokenizer_config.json", R"({"bos_token": "<nope>"})");
  auto msg = error_of(dir);
  EXPECT_MENTIONS(msg, "tokenizer_config.json: bos_token");
  EXPECT_MENTIONS(msg, "<nope>");
  test::write_text(dir / "tokenizer_config.json", R"({"add_bos_token": "yes"})");
  EXPECT_MENTIONS(error_of(dir), "tokenizer_config.json: add_bos_token");
}

TEST(TokenizerErrors, CorruptSentencePieceModel) {
  auto dir = test::scratch_dir("spm");
  test::write_text(dir / "tokenizer.model", "this is not a protobuf");
  auto msg = error_of(dir);
  EXPECT_MENTIONS(msg, "tokenizer.model");
  EXPECT_MENTIONS(msg, "SentencePiece");
}

}  // namespace
}  // namespace crammer
