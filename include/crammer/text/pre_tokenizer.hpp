// The pre-tokenizer stage of a Hugging Face tokenizer.json pipeline: steps that cut a
// normalized text into the pieces the BPE model merges within, each step applied to every
// piece the previous one produced. Split covers Split, Digits, Whitespace, WhitespaceSplit,
// Punctuation, CharDelimiterSplit and BertPreTokenizer (as their patterns); ByteLevel maps
// bytes to GPT-2's printable alphabet; Metaspace turns spaces into "▁".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crammer/text/regex_splitter.hpp"

namespace crammer {

struct PreTokenizerStep {
  enum class Kind { split, byte_level, metaspace };
  Kind kind = Kind::byte_level;
  std::string name;  // the tokenizer.json type it came from, for describe()
  // split
  std::string pattern;
  bool literal = false;
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  // byte_level
  bool add_prefix_space = false;
  bool use_regex = true;  // split with kGpt2Pattern first
  // metaspace: "▁" for spaces, one in front of a piece per the scheme, then (split) cut
  // before each "▁"
  enum class Prepend { always, first, never };
  std::string replacement = "\xE2\x96\x81";
  Prepend prepend = Prepend::always;  // first: only the piece that starts the input
  bool split = true;
};

class PreTokenizer {
 public:
  // WHERE prefixes errors (a pattern that does not compile names it).
  PreTokenizer(std::vector<PreTokenizerStep> steps, const std::string& where);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // The pieces of TEXT (normalized text between added tokens), in the model's alphabet.
  // AT_START: TEXT begins the input (Metaspace's scheme "first").
  std::vector<std::string> operator()(std::string_view text, bool at_start) const;
  // One ByteLevel step that splits: the caller may skip the copies of the general path.
  bool is_plain_byte_level() const;
  std::string describe() const;

 private:
  std::vector<PreTokenizerStep> steps_;
  std::vector<std::unique_ptr<RegexSplitter>> regex_;  // per step; null when it needs none
};

}  // namespace crammer
