// The BPE tokenizer of Hugging Face tokenizer.json files (and GPT-2's vocab.json +
// merges.txt), read as Hugging Face's tokenizers runs it: added tokens matched first, then a
// pipeline of normalizer (normalizer.hpp), pre-tokenizer (pre_tokenizer.hpp), the BPE model
// (merges by rank with a per-word cache; byte_fallback, unk_token/fuse_unk, ignore_merges,
// continuing_subword_prefix, end_of_word_suffix) and decoder (token_decoder.hpp). Byte-level
// (GPT-2, Pythia, Llama-3, Qwen, SmolLM) and SentencePiece-style (Llama-2, Mistral, Gemma)
// files are two configurations of the same pipeline. File parsing: bpe_files.cpp and
// tokenizer_json_components.cpp; load_tokenizer (tokenizer.hpp) picks the file.
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

#include "crammer/text/normalizer.hpp"
#include "crammer/text/pre_tokenizer.hpp"
#include "crammer/text/regex_splitter.hpp"
#include "crammer/text/token_decoder.hpp"
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
  bool normalized = false;   // matched in the normalized text (else in the raw text)
};

// Everything the model needs, as read from the files; error messages use the labels.
struct BpeSpec {
  std::string source;       // file the spec came from: prefix of every error message
  std::string vocab_label;  // "model.vocab" / "vocab.json"
  std::vector<std::pair<std::string, int32_t>> vocab;  // token text as in the file -> id
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> merge_labels;  // per merge: "model.merges[3]", "merges.txt line 5"
  std::vector<AddedToken> added;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<DecoderStep> decoder;
  bool has_decoder = true;     // false: decode joins tokens with spaces (no decoder in the file)
  bool ignore_merges = false;  // Llama-3: a piece already in the vocab is one token
  bool byte_fallback = false;  // characters outside the vocab -> their <0xXX> byte tokens
  std::optional<std::string> unk_token;  // else -> this token
  bool fuse_unk = false;                 // consecutive unknowns -> one unk
  std::string continuing_subword_prefix;  // before every symbol but a word's first ("##")
  std::string end_of_word_suffix;         // after a word's last symbol ("</w>")
  std::optional<std::string> template_bos;  // special token before $A in TemplateProcessing
  // tokenizer.json: its post_processor alone decides the BOS (transformers >= 5 ignores
  // tokenizer_config.json's add_bos_token then); vocab.json + merges.txt: add_bos_token does.
  bool from_tokenizer_json = false;
};

class BpeTokenizer : public Tokenizer {
 public:
  // Validates merges against the vocab; throws TokenizerError naming spec.source + label.
  explicit BpeTokenizer(BpeSpec spec);

  std::vector<int32_t> encode(std::string_view text, bool add_bos = false) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_token_.size()); }
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

  // Pieces after normalizer and pre-tokenizer, in the model's alphabet ("Ġworld" for a
  // byte-level one), as Hugging Face's pre_tokenize_str; for tests and inspection.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& ids) const;
  void encode_normalized(std::string_view text, bool at_start, std::vector<int32_t>& ids) const;
  void bpe_piece(std::string_view piece, std::vector<int32_t>& ids) const;
  std::vector<int32_t> bpe_merge(std::string_view piece) const;
  std::vector<int32_t> initial_symbols(std::string_view piece) const;
  // Splits TEXT at the added tokens RE matches: gaps to ON_GAP(text, at_start), tokens to IDS.
  template <typename OnGap>
  void split_added(std::string_view text, const RegexSplitter* re, bool at_start, OnGap on_gap,
                   std::vector<int32_t>& ids) const;

  std::string source_;
  std::string vocab_label_;
  std::vector<std::string> id_token_;  // id -> token text as in the file (added: content)
  std::vector<bool> id_known_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint32_t, int32_t> char_id_;  // one-character tokens by code point
  int32_t byte_token_[256];                         // <0xXX> tokens, -1 where absent
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::vector<AddedToken> added_;
  // All added tokens matched in the raw text / in the normalized text, longest first, each
  // alternative tagged (*MARK:i) with its index in added_.
  std::unique_ptr<RegexSplitter> raw_added_, normalized_added_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  TokenDecoder decoder_;
  std::unique_ptr<RegexSplitter> gpt2_;  // the plain ByteLevel fast path
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  std::optional<std::string> unk_name_;
  std::optional<int32_t> unk_;
  bool fuse_unk_ = false;
  std::string prefix_, suffix_;
  std::optional<std::string> template_bos_;
  std::optional<int32_t> bos_, eos_;
  bool uses_bos_ = false;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Parsers (bpe_files.cpp). PATH names the file in messages.
// tokenizer.json: model.type must be "BPE"; a pipeline component crammer lacks is a
// TokenizerUnsupported error naming its field and type.
BpeSpec read_tokenizer_json(const std::string& path);
// GPT-2 files: vocab.json ({token: id}) + merges.txt ("#version" line, then "a b" per line).
BpeSpec read_vocab_merges(const std::string& vocab_path, const std::string& merges_path);

}  // namespace crammer
