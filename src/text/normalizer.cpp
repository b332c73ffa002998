// The normalizer steps of a tokenizer.json (normalizer.hpp), each as Hugging Face's
// NormalizedString applies it.
#include "crammer/text/normalizer.hpp"

#include "crammer/text/regex_splitter.hpp"
#include "crammer/text/unicode.hpp"
#include "unicode_classes.hpp"

namespace crammer {
namespace {

std::string strip(std::string_view text, bool left, bool right) {
  size_t begin = 0, end = text.size();
  if (left) {
    while (begin < end) {
      size_t len = 0;
      if (!is_white_space(next_code_point(text, begin, len))) break;
      begin += len;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;  // back to the first byte of the last character
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      size_t len = 0;
      if (!is_white_space(next_code_point(text, start, len))) break;
      end = start;
    }
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

Normalizer::Normalizer(std::vector<NormalizerStep> steps, const std::string& where)
    : steps_(std::move(steps)), where_(where) {
  for (const auto& step : steps_) {
    if (step.kind == NormalizerStep::Kind::replace) {
      regex_.push_back(std::make_unique<RegexSplitter>(step.pattern, !step.regex,
                                                       where + ": normalizer Replace pattern"));
    } else if (step.kind == NormalizerStep::Kind::strip_accents) {
      regex_.push_back(std::make_unique<RegexSplitter>(unicode_classes::kCombiningMark, false, where));
    } else {
      regex_.push_back(nullptr);
    }
  }
}

Normalizer::~Normalizer() = default;
Normalizer::Normalizer(Normalizer&&) noexcept = default;
Normalizer& Normalizer::operator=(Normalizer&&) noexcept = default;

std::string Normalizer::operator()(std::string_view text) const {
  std::string s(text);
  for (size_t i = 0; i < steps_.size(); ++i) {
    const NormalizerStep& step = steps_[i];
    using K = NormalizerStep::Kind;
    switch (step.kind) {
      case K::nfc: s = unicode_normalize(s, NormalForm::nfc, where_); break;
      case K::nfd: s = unicode_normalize(s, NormalForm::nfd, where_); break;
      case K::nfkc: s = unicode_normalize(s, NormalForm::nfkc, where_); break;
      case K::nfkd: s = unicode_normalize(s, NormalForm::nfkd, where_); break;
      case K::lowercase: s = unicode_lowercase(s, where_); break;
      case K::strip: s = strip(s, step.left, step.right); break;
      case K::strip_accents: s = regex_[i]->replace_all(s, ""); break;
      case K::prepend:
        if (!s.empty()) s.insert(0, step.pattern);  // an empty text stays empty
        break;
      case K::replace: s = regex_[i]->replace_all(s, step.content); break;
    }
  }
  return s;
}

std::string Normalizer::describe() const {
  static const char* const kNames[] = {"NFC",          "NFD",     "NFKC",   "NFKD",  "Lowercase",
                                       "Strip",        "StripAccents", "Prepend", "Replace"};
  std::string out;
  for (const auto& step : steps_) {
    if (!out.empty()) out += " + ";
    out += kNames[static_cast<int>(step.kind)];
    if (step.kind == NormalizerStep::Kind::prepend) out += "('" + step.pattern + "')";
    if (step.kind == NormalizerStep::Kind::replace)
      out += "('" + step.pattern + "' -> '" + step.content + "')";
  }
  return out;
}

}  // namespace crammer
