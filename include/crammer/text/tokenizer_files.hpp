// The pieces load_tokenizer (tokenizer.hpp) is built from, exposed for tests and tools:
// tokenizer_config.json / special_tokens_map.json reading and the SentencePiece loader.
// Not needed by ordinary callers: use load_tokenizer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crammer/text/bpe.hpp"
#include "crammer/text/tokenizer.hpp"

namespace crammer {

// What tokenizer_config.json (and special_tokens_map.json, for fields the first lacks) say
// about special tokens. Absent files give an empty config.
struct TokenizerConfig {
  std::string path;  // the file the values came from ("" when none)
  std::optional<std::string> bos_token, eos_token;
  std::optional<bool> add_bos_token;
  std::vector<AddedToken> added_tokens;  // added_tokens_decoder
};
TokenizerConfig read_tokenizer_config(const std::string& dir);

// A SentencePiece model file (tokenizer.model) through libsentencepiece. BOS is prepended on
// add_bos when the model has one, unless CONFIG says add_bos_token: false.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model_path,
                                              const TokenizerConfig& config);

// A BPE (byte-level or SentencePiece-style) from tokenizer.json or vocab.json + merges.txt,
// with BOS/EOS resolved:
// bos = the template's special token before $A, else CONFIG's bos_token, else <|endoftext|>
// when present (GPT-2 convention). Prepended as transformers 5 does: from tokenizer.json, exactly
// when the post_processor template puts it before $A (add_bos_token is ignored there); from
// vocab.json + merges.txt, when add_bos_token is true (OPT).
std::unique_ptr<BpeTokenizer> make_bpe(BpeSpec spec, const TokenizerConfig& config);

}  // namespace crammer
