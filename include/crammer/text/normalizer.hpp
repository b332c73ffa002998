// The normalizer stage of a Hugging Face tokenizer.json pipeline: the steps a text goes
// through before pre-tokenization (NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents,
// Prepend, Replace), applied in order to each stretch of text between added tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crammer {

class RegexSplitter;

struct NormalizerStep {
  enum class Kind { nfc, nfd, nfkc, nfkd, lowercase, strip, strip_accents, prepend, replace };
  Kind kind = Kind::nfc;
  std::string pattern;  // replace: what is replaced; prepend: the prefix
  bool regex = false;   // replace: PATTERN is a regular expression (else a plain string)
  std::string content;  // replace: the replacement
  bool left = true, right = true;  // strip: which ends lose their white space
};

class Normalizer {
 public:
  // WHERE prefixes errors (a Replace pattern that does not compile names it).
  Normalizer(std::vector<NormalizerStep> steps, const std::string& where);
  ~Normalizer();
  Normalizer(Normalizer&&) noexcept;
  Normalizer& operator=(Normalizer&&) noexcept;

  std::string operator()(std::string_view text) const;
  bool empty() const { return steps_.empty(); }
  // "NFC + Replace(' ' -> '▁')", for describe().
  std::string describe() const;

 private:
  std::vector<NormalizerStep> steps_;
  std::vector<std::unique_ptr<RegexSplitter>> regex_;  // per step: replace's pattern, else null
  std::string where_;
};

}  // namespace crammer
