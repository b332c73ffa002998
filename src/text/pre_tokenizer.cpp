// The pre-tokenizer steps of a tokenizer.json (pre_tokenizer.hpp), as Hugging Face's
// PreTokenizedString applies them: empty pieces are dropped after every step.
#include "crammer/text/pre_tokenizer.hpp"

#include "crammer/text/unicode.hpp"

namespace crammer {
namespace {

struct Piece {
  std::string text;
  bool at_start;  // begins the input
};

std::string replace_spaces(std::string_view text, const std::string& with) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ')
      out += with;
    else
      out += c;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

PreTokenizer::PreTokenizer(std::vector<PreTokenizerStep> steps, const std::string& where)
    : steps_(std::move(steps)) {
  for (const auto& step : steps_) {
    using K = PreTokenizerStep::Kind;
    if (step.kind == K::split) {
      regex_.push_back(std::make_unique<RegexSplitter>(step.pattern, step.literal,
                                                       where + ": pre_tokenizer " + step.name + " pattern"));
    } else if (step.kind == K::byte_level && step.use_regex) {
      regex_.push_back(std::make_unique<RegexSplitter>(kGpt2Pattern, false, "GPT-2 pattern"));
    } else if (step.kind == K::metaspace && step.split) {
      regex_.push_back(std::make_unique<RegexSplitter>(step.replacement, true, where));
    } else {
      regex_.push_back(nullptr);
    }
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

bool PreTokenizer::is_plain_byte_level() const {
  return steps_.size() == 1 && steps_[0].kind == PreTokenizerStep::Kind::byte_level &&
         steps_[0].use_regex && !steps_[0].add_prefix_space;
}

std::vector<std::string> PreTokenizer::operator()(std::string_view text, bool at_start) const {
  std::vector<Piece> pieces;
  if (!text.empty()) pieces.push_back({std::string(text), at_start});
  for (size_t i = 0; i < steps_.size(); ++i) {
    const PreTokenizerStep& step = steps_[i];
    const RegexSplitter* re = regex_[i].get();
    std::vector<Piece> next;
    auto split_into = [&](const std::string& s, bool start, SplitBehavior behavior, bool invert,
                          bool to_byte_level) {
      for (std::string_view part : re->split(s, behavior, invert)) {
        if (part.empty()) continue;
        next.push_back({to_byte_level ? bytes_to_byte_level(part) : std::string(part),
                        start && part.data() == s.data()});
      }
    };
    for (Piece& p : pieces) {
      switch (step.kind) {
        case PreTokenizerStep::Kind::split:
          split_into(p.text, p.at_start, step.behavior, step.invert, false);
          break;
        case PreTokenizerStep::Kind::byte_level: {
          if (step.add_prefix_space && !starts_with(p.text, " ")) p.text.insert(0, " ");
          if (re)
            split_into(p.text, p.at_start, SplitBehavior::isolated, false, true);
          else
            next.push_back({bytes_to_byte_level(p.text), p.at_start});
          break;
        }
        case PreTokenizerStep::Kind::metaspace: {
          std::string s = replace_spaces(p.text, step.replacement);
          using P = PreTokenizerStep::Prepend;
          bool prepend = step.prepend == P::always || (step.prepend == P::first && p.at_start);
          if (prepend && !starts_with(s, step.replacement)) s.insert(0, step.replacement);
          if (re)
            split_into(s, p.at_start, SplitBehavior::merged_with_next, false, false);
          else
            next.push_back({std::move(s), p.at_start});
          break;
        }
      }
    }
    pieces = std::move(next);
  }
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (auto& p : pieces) out.push_back(std::move(p.text));
  return out;
}

std::string PreTokenizer::describe() const {
  std::string out;
  for (const auto& step : steps_) {
    if (!out.empty()) out += " + ";
    out += step.name;
    if (step.kind == PreTokenizerStep::Kind::split && step.name == "Split")
      out += step.pattern == kLlama3Pattern ? "(Llama-3 regex)"
             : step.pattern == kGpt2Pattern ? "(GPT-2 regex)"
                                            : "(custom)";
    if (step.kind == PreTokenizerStep::Kind::byte_level) {
      if (step.use_regex) out += "(GPT-2 regex)";
      if (step.add_prefix_space) out += "(prefix space)";
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace crammer
