// Tokenizers of Hugging Face checkpoints: byte-level BPE (tokenizer.json, or vocab.json +
// merges.txt) with the GPT-2 or Llama-3 pre-tokenizer, and SentencePiece (tokenizer.model).
// Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crammer {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text -> ids. add_bos prepends the BOS token when the family uses one (Llama, SentencePiece).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos = false) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  // True when encode(text, true) prepends bos_id() (Llama-3 template, SentencePiece, or
  // tokenizer_config.json add_bos_token). GPT-2/Pythia: false, though bos_id() may be set.
  virtual bool uses_bos() const = 0;
  // One line for logs: kind, source file, pre-tokenizer, size.
  virtual std::string describe() const = 0;
};

// Loads from a checkpoint or tokenizer directory, trying in order: tokenizer.json,
// vocab.json + merges.txt, tokenizer.model. Throws TokenizerError naming the file and field.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// True when DIR holds any tokenizer file load_tokenizer understands.
bool has_tokenizer(const std::string& dir);

}  // namespace crammer
