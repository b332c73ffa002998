// Regex pre-tokenization for byte-level BPE: a PCRE2 (UTF + UCP, JIT when available) pattern
// that splits text into pieces, as Hugging Face's Split / ByteLevel pre-tokenizers do.
// Not a tokenizer by itself: the BPE model (bpe.hpp) runs on the pieces.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crammer {

// The GPT-2 pre-tokenizer (also ByteLevel with use_regex=true: GPT-2, Pythia/GPT-NeoX).
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// The Llama-3 pre-tokenizer (Split(Regex) before ByteLevel(use_regex=false)).
inline constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// What happens to the matches of a Split pre-tokenizer (Hugging Face SplitDelimiterBehavior).
// contiguous: runs of adjacent matches become one isolated piece.
enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };

// A compiled pattern; thread-safe (each call uses its own match data).
class RegexSplitter {
 public:
  // literal=true matches PATTERN as a plain string. Throws TokenizerError with WHERE and the
  // PCRE2 error text when the pattern does not compile.
  RegexSplitter(const std::string& pattern, bool literal, const std::string& where);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Byte ranges [begin, end) of the matches in TEXT, left to right, non-overlapping.
  // TEXT must be valid UTF-8 (see require_valid_utf8). MARKS, when given, receives per match the
  // number in the last (*MARK:n) the pattern passed, or -1.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text,
                                                 std::vector<int>* marks = nullptr) const;

  // Pieces of TEXT per BEHAVIOR: with `isolated`, matches and the gaps between them. INVERT
  // swaps the roles: the gaps between matches are the delimiters (Hugging Face's invert).
  std::vector<std::string_view> split(std::string_view text, SplitBehavior behavior,
                                      bool invert = false) const;

  // TEXT with every match replaced by WITH (Hugging Face's Replace normalizer and decoder).
  std::string replace_all(std::string_view text, std::string_view with) const;

  const std::string& pattern() const { return pattern_; }
  bool jit() const { return jit_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*
  bool jit_ = false;
};

// Throws TokenizerError("WHAT is not valid UTF-8 at byte N: ...") unless TEXT is valid UTF-8.
void require_valid_utf8(std::string_view text, const std::string& what);

}  // namespace crammer
