// BPE tokenizers of Hugging Face tokenizer.json files, in two flavours sharing one merge
// engine: byte-level (GPT-2, Pythia/GPT-NeoX, Llama-3: the GPT-2 byte<->unicode map, regex
// pre-tokenizer steps) and SentencePiece-style (Llama-2, Mistral: "▁" for spaces, characters
// outside the vocabulary as <0xXX> byte tokens, the whole text between added tokens one word).
// Added tokens are matched before either; merges apply by rank with a per-word cache. File
// parsing lives in bpe_files.cpp (read_tokenizer_json, read_vocab_merges); load_tokenizer
// (tokenizer.hpp) picks the file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crammer/text/pretokenizer.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/text/unicode.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

// A well-formed tokenizer.json of a kind this BPE does not implement (Unigram, WordPiece):
// load_tokenizer may fall back to tokenizer.model beside it.
class TokenizerUnsupported : public TokenizerError {
 public:
  using TokenizerError::TokenizerError;
};

// A token matched verbatim in the text before pre-tokenization (tokenizer.json added_tokens).
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = true;
  bool lstrip = false;       // swallow whitespace before the match
  bool rstrip = false;       // swallow whitespace after the match
  bool single_word = false;  // only when not inside a word
};

// One pre-tokenizer step, applied to every piece the previous step produced.
struct PreTokenizerStep {
  enum class Kind { split, byte_level };
  Kind kind = Kind::byte_level;
  // split
  std::string pattern;
  bool literal = false;
  SplitBehavior behavior = SplitBehavior::isolated;
  // byte_level
  bool add_prefix_space = false;
  bool use_regex = true;  // split with kGpt2Pattern
};

// SentencePiece-style BPE: how spaces become "▁" and come back (HF's Metaspace pre-tokenizer,
// or the older Prepend("▁") + Replace(" ", "▁") normalizers with a Strip decoder).
struct MetaspaceSpec {
  enum class Prepend { always, first, never };
  Prepend prepend = Prepend::first;  // "▁" before each segment / the text's first / none
  bool prepend_always = false;       // Prepend normalizer: even before a leading "▁" (Metaspace
                                     // skips a segment that starts with one)
  bool strip_decoded = true;         // decode drops one leading space (Strip / Metaspace decoder)
};

// Everything the model needs, as read from the files; error messages use the labels.
struct BpeSpec {
  std::string source;       // file the spec came from: prefix of every error message
  std::string vocab_label;  // "model.vocab" / "vocab.json"
  std::vector<std::pair<std::string, int32_t>> vocab;  // byte-level token text -> id
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> merge_labels;  // per merge: "model.merges[3]", "merges.txt line 5"
  std::vector<AddedToken> added;
  std::vector<PreTokenizerStep> pre_tokenizer;
  bool ignore_merges = false;  // Llama-3: a piece already in the vocab is one token
  bool nfc = false;            // normalizer NFC (Pythia/GPT-NeoX), applied outside added tokens
  std::optional<std::string> template_bos;  // special token before $A in TemplateProcessing
  // tokenizer.json: its post_processor alone decides the BOS (transformers >= 5 ignores
  // tokenizer_config.json's add_bos_token then); vocab.json + merges.txt: add_bos_token does.
  bool from_tokenizer_json = false;
  // SentencePiece-style: vocab texts are literal ("▁the", "<0x0A>"), not byte-level.
  std::optional<MetaspaceSpec> metaspace;
  bool byte_fallback = false;           // unknown characters -> their <0xXX> byte tokens
  std::optional<std::string> unk_token;  // else unknown characters -> this token
  bool fuse_unk = false;                // consecutive unknowns -> one unk
};

class BpeTokenizer : public Tokenizer {
 public:
  // Validates merges against the vocab; throws TokenizerError naming spec.source + label.
  explicit BpeTokenizer(BpeSpec spec);

  std::vector<int32_t> encode(std::string_view text, bool add_bos = false) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_bytes_.size()); }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  bool uses_bos() const override { return uses_bos_; }
  std::string describe() const override;

  // Id of an added token by content, else of a vocab token by its raw bytes.
  std::optional<int32_t> token_id(std::string_view content) const;
  void set_bos(std::optional<int32_t> id, bool uses) {
    bos_ = id;
    uses_bos_ = uses && id;
  }
  void set_eos(std::optional<int32_t> id) { eos_ = id; }
  const std::string& source() const { return source_; }
  const std::optional<std::string>& template_bos() const { return template_bos_; }

  // Pieces after the pre-tokenizer steps (raw bytes, before BPE), for tests and inspection.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  struct Step {
    PreTokenizerStep spec;
    std::unique_ptr<RegexSplitter> regex;  // null for byte_level without use_regex
  };
  std::vector<std::string> pre_tokenize_normalized(std::string_view text) const;
  void encode_segment(std::string_view text, bool first, std::vector<int32_t>& ids) const;
  void bpe_piece(std::string_view piece, std::vector<int32_t>& ids) const;
  std::vector<int32_t> bpe_merge(std::string_view piece) const;
  std::vector<int32_t> initial_symbols(std::string_view piece) const;

  std::string source_;
  std::vector<std::string> id_bytes_;  // id -> raw bytes (added tokens: their content)
  std::vector<bool> id_known_;
  std::unordered_map<std::string, int32_t> bytes_to_id_;
  int32_t byte_id_[256];
  // Byte-level BPE with model.byte_fallback: for a byte whose symbol the vocabulary lacks, the
  // <0xXX> tokens of that symbol's UTF-8 bytes (empty: none, so the unk token or an error).
  std::vector<int32_t> fallback_ids_[256];
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::vector<AddedToken> added_;
  std::unique_ptr<RegexSplitter> added_regex_;  // all added tokens, longest first, (*MARK:i)
  std::vector<Step> steps_;
  bool ignore_merges_ = false;
  bool nfc_ = false;
  std::optional<MetaspaceSpec> metaspace_;
  std::unordered_map<std::string, int32_t> piece_to_id_;  // SentencePiece-style: literal text
  bool byte_fallback_ = false;
  std::optional<int32_t> unk_;
  bool fuse_unk_ = false;
  std::optional<std::string> template_bos_;
  std::optional<int32_t> bos_, eos_;
  bool uses_bos_ = false;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Parsers (bpe_files.cpp). PATH names the file in messages.
// tokenizer.json: model.type must be "BPE" with byte-level pre-tokenization.
BpeSpec read_tokenizer_json(const std::string& path);
// GPT-2 files: vocab.json ({token: id}) + merges.txt ("#version" line, then "a b" per line).
BpeSpec read_vocab_merges(const std::string& vocab_path, const std::string& merges_path);

}  // namespace crammer
