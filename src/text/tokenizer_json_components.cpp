// tokenizer.json's pipeline sections read into component specs (tokenizer_json_components.hpp):
// every type Hugging Face's tokenizers writes for the BPE models of causal LMs; the rest are
// refused by name.
#include "tokenizer_json_components.hpp"

#include "crammer/text/bpe.hpp"
#include "crammer/util/error.hpp"
#include "unicode_classes.hpp"

namespace crammer::tokenizer_json {
namespace {

using nlohmann::json;

// Unicode's White_Space, as a PCRE2 class body (Rust's char::is_whitespace).
constexpr const char* kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";
// Rust regex's \w (Alphabetic, marks, decimal digits, connector punctuation, joiners).
constexpr const char* kWord = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}";
using unicode_classes::kPunctuation;  // Hugging Face's own table (unicode_classes.hpp)

// Hugging Face's tokenizers compiles Regex patterns with Oniguruma (Ruby syntax), crammer with
// PCRE2. Where they differ in ways real files use: a class nested in a class is its union in
// Oniguruma (BLOOM's " ?[^(\s|[.,!?…])]+") and a literal "[" in PCRE2; \h is a hex digit in
// Oniguruma and horizontal space in PCRE2. This rewrites those; what has no PCRE2 form
// (a negated or intersected nested class) is refused.
std::string onig_to_pcre2(const std::string& pattern, const std::string& path,
                          const std::string& field) {
  std::string out;
  int depth = 0;  // character-class nesting
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      if (e == 'h' || e == 'H') {
        if (depth > 0 && e == 'h') out += "0-9a-fA-F";
        else if (depth > 0) unsupported(path, field, "\\H inside a character class has no PCRE2 form");
        else out += e == 'h' ? "[0-9a-fA-F]" : "[^0-9a-fA-F]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[') {
      if (pattern.compare(i, 2, "[:") == 0 && depth > 0) {  // POSIX class: copy up to ":]"
        size_t end = pattern.find(":]", i + 2);
        if (end != std::string::npos) {
          out.append(pattern, i, end + 2 - i);
          i = end + 1;
          continue;
        }
      }
      if (depth == 0) {
        out += c;
        if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
        // A "]" right after "[" or "[^" is a literal member in both dialects.
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      } else if (i + 1 < pattern.size() && pattern[i + 1] == '^') {
        unsupported(path, field, "a negated class nested in a class has no PCRE2 form");
      }
      ++depth;  // a nested class: its members join the enclosing one
      continue;
    }
    if (c == ']' && depth > 0) {
      if (--depth == 0) out += c;
      continue;
    }
    if (c == '&' && depth > 0 && i + 1 < pattern.size() && pattern[i + 1] == '&')
      unsupported(path, field, "class intersection (&&) has no PCRE2 form");
    out += c;
  }
  return out;
}

std::string type_of(const json& node, const std::string& path, const std::string& field) {
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string())
    fail(path, field, "expected an object with a \"type\"");
  return node["type"].get<std::string>();
}

std::string get_string(const json& obj, const char* key, const std::string& fallback,
                       const std::string& path, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(path, field + "." + key, "expected a string, got " + it->dump());
  return it->get<std::string>();
}

size_t get_count(const json& obj, const char* key, const std::string& path,
                 const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  if (!it->is_number_unsigned()) fail(path, field + "." + key, "expected a count, got " + it->dump());
  return it->get<size_t>();
}

const json& members(const json& node, const char* key, const std::string& path,
                    const std::string& field) {
  auto it = node.find(key);
  if (it == node.end() || !it->is_array()) fail(path, field + "." + key, "expected an array");
  return *it;
}

// Calls FN(member, its field) for each member of the array NODE[KEY] (a Sequence's parts).
template <typename Fn>
void for_each_member(const json& node, const char* key, const std::string& path, const std::string& field, Fn fn) {
  const json& list = members(node, key, path, field);
  for (size_t i = 0; i < list.size(); ++i) fn(list[i], field + "." + key + "[" + std::to_string(i) + "]");
}

// {"String": "..."} or {"Regex": "..."}: the pattern and whether it is a regex.
std::pair<std::string, bool> read_pattern(const json& node, const std::string& path,
                                          const std::string& field) {
  const json& p = node.value("pattern", json());
  if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
    return {onig_to_pcre2(p["Regex"].get<std::string>(), path, field + ".pattern.Regex"), true};
  if (p.is_object() && p.contains("String") && p["String"].is_string())
    return {p["String"].get<std::string>(), false};
  fail(path, field + ".pattern", "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
}

SplitBehavior read_behavior(const json& node, const std::string& path, const std::string& field) {
  const std::string b = get_string(node, "behavior", "Isolated", path, field);
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  fail(path, field + ".behavior",
       "expected Isolated, Removed, MergedWithPrevious, MergedWithNext or Contiguous, got \"" + b +
           "\"");
}

// Metaspace's scheme: prepend_scheme, or the older add_prefix_space (true: always).
PreTokenizerStep::Prepend read_scheme(const json& node, const std::string& path,
                                      const std::string& field) {
  std::string scheme = get_string(node, "prepend_scheme", "", path, field);
  if (scheme.empty())
    scheme = get_bool(node, "add_prefix_space", true, path, field) ? "always" : "never";
  if (scheme == "first") return PreTokenizerStep::Prepend::first;
  if (scheme == "always") return PreTokenizerStep::Prepend::always;
  if (scheme == "never") return PreTokenizerStep::Prepend::never;
  fail(path, field + ".prepend_scheme", "expected first, always or never, got " + scheme);
}

std::string one_character(const json& node, const char* key, const std::string& fallback,
                          const std::string& path, const std::string& field) {
  std::string s = get_string(node, key, fallback, path, field);
  size_t len = 0;
  if (s.empty() || (next_code_point(s, 0, len), len != s.size()))
    fail(path, field + "." + key, "expected one character, got \"" + s + "\"");
  return s;
}

PreTokenizerStep split_step(const std::string& name, std::string pattern, SplitBehavior behavior,
                            bool invert = false) {
  PreTokenizerStep step;
  step.kind = PreTokenizerStep::Kind::split;
  step.name = name;
  step.pattern = std::move(pattern);
  step.behavior = behavior;
  step.invert = invert;
  return step;
}

}  // namespace

void fail(const std::string& path, const std::string& field, const std::string& what) {
  throw TokenizerError(path + ": " + field + ": " + what);
}

void unsupported(const std::string& path, const std::string& field, const std::string& what) {
  throw TokenizerUnsupported(path + ": " + field + ": " + what);
}

bool get_bool(const json& obj, const char* key, bool fallback, const std::string& path,
              const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(path, field + "." + key, "expected true or false, got " + it->dump());
  return it->get<bool>();
}

void read_normalizer(const json& node, const std::string& path, const std::string& field,
                     std::vector<NormalizerStep>& out) {
  if (node.is_null()) return;
  const std::string type = type_of(node, path, field);
  using K = NormalizerStep::Kind;
  NormalizerStep step;
  if (type == "Sequence") {
    for_each_member(node, "normalizers", path, field,
                    [&](const json& m, const std::string& f) { read_normalizer(m, path, f, out); });
    return;
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.kind = type == "NFC" ? K::nfc : type == "NFD" ? K::nfd : type == "NFKC" ? K::nfkc : K::nfkd;
  } else if (type == "Lowercase") {
    step.kind = K::lowercase;
  } else if (type == "Strip") {
    step.kind = K::strip;
    step.left = get_bool(node, "strip_left", true, path, field);
    step.right = get_bool(node, "strip_right", true, path, field);
  } else if (type == "StripAccents") {
    step.kind = K::strip_accents;
  } else if (type == "Prepend") {
    step.kind = K::prepend;
    step.pattern = get_string(node, "prepend", "", path, field);
  } else if (type == "Replace") {
    step.kind = K::replace;
    std::tie(step.pattern, step.regex) = read_pattern(node, path, field);
    step.content = get_string(node, "content", "", path, field);
  } else {
    unsupported(path, field + ".type",
                "\"" + type +
                    "\" is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, "
                    "Strip, StripAccents, Prepend, Replace)");
  }
  out.push_back(std::move(step));
}

void read_pre_tokenizer(const json& node, const std::string& path, const std::string& field,
                        std::vector<PreTokenizerStep>& out) {
  if (node.is_null()) return;
  const std::string type = type_of(node, path, field);
  if (type == "Sequence") {
    for_each_member(node, "pretokenizers", path, field,
                    [&](const json& m, const std::string& f) { read_pre_tokenizer(m, path, f, out); });
  } else if (type == "ByteLevel") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::byte_level;
    step.name = type;
    step.add_prefix_space = get_bool(node, "add_prefix_space", true, path, field);
    step.use_regex = get_bool(node, "use_regex", true, path, field);
    out.push_back(step);
  } else if (type == "Split") {
    auto [pattern, regex] = read_pattern(node, path, field);
    PreTokenizerStep step = split_step(type, pattern, read_behavior(node, path, field),
                                       get_bool(node, "invert", false, path, field));
    step.literal = !regex;
    out.push_back(step);
  } else if (type == "Digits") {
    out.push_back(split_step(type, unicode_classes::kNumeric,
                             get_bool(node, "individual_digits", false, path, field)
                                 ? SplitBehavior::isolated
                                 : SplitBehavior::contiguous));
  } else if (type == "Metaspace") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::metaspace;
    step.name = type;
    step.replacement = one_character(node, "replacement", "\xE2\x96\x81", path, field);
    step.prepend = read_scheme(node, path, field);
    step.split = get_bool(node, "split", true, path, field);
    out.push_back(step);
  } else if (type == "Whitespace") {
    out.push_back(split_step(type,
                             std::string("[") + kWord + "]+|[^" + kWord + kWhiteSpace + "]+",
                             SplitBehavior::removed, /*invert=*/true));
  } else if (type == "WhitespaceSplit") {
    out.push_back(split_step(type, std::string("[") + kWhiteSpace + "]", SplitBehavior::removed));
  } else if (type == "Punctuation") {
    out.push_back(split_step(type, kPunctuation, read_behavior(node, path, field)));
  } else if (type == "BertPreTokenizer") {
    out.push_back(split_step(type, std::string("[") + kWhiteSpace + "]", SplitBehavior::removed));
    out.push_back(split_step(type, kPunctuation, SplitBehavior::isolated));
  } else if (type == "CharDelimiterSplit") {
    PreTokenizerStep step = split_step(type, one_character(node, "delimiter", "", path, field),
                                       SplitBehavior::removed);
    step.literal = true;
    out.push_back(step);
  } else {
    unsupported(path, field + ".type",
                "\"" + type +
                    "\" is not supported (supported: Sequence, ByteLevel, Split, Digits, "
                    "Metaspace, Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, "
                    "CharDelimiterSplit)");
  }
}

void read_decoder(const json& node, const std::string& path, const std::string& field,
                  std::vector<DecoderStep>& out) {
  if (node.is_null()) return;
  const std::string type = type_of(node, path, field);
  using K = DecoderStep::Kind;
  DecoderStep step;
  if (type == "Sequence") {
    for_each_member(node, "decoders", path, field,
                    [&](const json& m, const std::string& f) { read_decoder(m, path, f, out); });
    return;
  } else if (type == "ByteLevel") {
    step.kind = K::byte_level;
  } else if (type == "Metaspace") {
    step.kind = K::metaspace;
    step.pattern = one_character(node, "replacement", "\xE2\x96\x81", path, field);
    step.drop_first = read_scheme(node, path, field) != PreTokenizerStep::Prepend::never;
  } else if (type == "Replace") {
    step.kind = K::replace;
    std::tie(step.pattern, step.regex) = read_pattern(node, path, field);
    step.content = get_string(node, "content", "", path, field);
  } else if (type == "ByteFallback") {
    step.kind = K::byte_fallback;
  } else if (type == "Fuse") {
    step.kind = K::fuse;
  } else if (type == "Strip") {
    step.kind = K::strip;
    step.pattern = one_character(node, "content", " ", path, field);
    step.start = get_count(node, "start", path, field);
    step.stop = get_count(node, "stop", path, field);
  } else if (type == "BPEDecoder") {
    step.kind = K::bpe_suffix;
    step.pattern = get_string(node, "suffix", "</w>", path, field);
  } else {
    unsupported(path, field + ".type",
                "\"" + type +
                    "\" is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, "
                    "ByteFallback, Fuse, Strip, BPEDecoder)");
  }
  out.push_back(std::move(step));
}

std::optional<std::string> read_post_processor(const json& node, const std::string& path,
                                               const std::string& field) {
  if (node.is_null()) return std::nullopt;
  const std::string type = type_of(node, path, field);
  if (type == "Sequence") {
    std::optional<std::string> bos;
    for_each_member(node, "processors", path, field, [&](const json& m, const std::string& f) {
      auto b = read_post_processor(m, path, f);
      if (!bos) bos = b;
    });
    return bos;
  }
  if (type == "ByteLevel") return std::nullopt;  // offsets only
  if (type == "TemplateProcessing") {
    const json& single = members(node, "single", path, field);
    for (const auto& item : single) {
      if (item.contains("Sequence")) return std::nullopt;  // reached $A: nothing before it
      if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
          item["SpecialToken"]["id"].is_string()) {
        return item["SpecialToken"]["id"].get<std::string>();
      }
    }
    return std::nullopt;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json& cls = node.value("cls", json());
    if (cls.is_array() && !cls.empty() && cls[0].is_string()) return cls[0].get<std::string>();
    fail(path, field + ".cls", "expected [\"token\", id]");
  }
  unsupported(path, field + ".type",
              "\"" + type +
                  "\" is not supported (supported: Sequence, ByteLevel, TemplateProcessing, "
                  "RobertaProcessing, BertProcessing)");
}

}  // namespace crammer::tokenizer_json
