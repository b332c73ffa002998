// The decoder steps of a tokenizer.json (token_decoder.hpp), each as Hugging Face's
// decode_chain of the same name.
#include "crammer/text/token_decoder.hpp"

#include "crammer/text/regex_splitter.hpp"
#include "crammer/text/unicode.hpp"

namespace crammer {
namespace {

// "<0x0A>" -> 0x0A (either case of hex digits); -1 for any other text.
int byte_token_value(const std::string& text) {
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return -1;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
  };
  int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
  std::vector<std::string> out;
  std::string bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    if (utf8_lossy(bytes) == bytes) {
      out.push_back(bytes);
    } else {  // not UTF-8: one U+FFFD per byte token
      for (size_t i = 0; i < bytes.size(); ++i) out.push_back("\xEF\xBF\xBD");
    }
    bytes.clear();
  };
  for (auto& t : tokens) {
    int b = byte_token_value(t);
    if (b >= 0) {
      bytes += static_cast<char>(b);
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

std::string byte_level(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const auto& t : tokens) {
    // A token whose every character is in GPT-2's map gives those bytes, another its own text.
    std::string raw;
    bool mapped = true;
    for (size_t i = 0; i < t.size() && mapped;) {
      size_t len = 0;
      int b = byte_level_byte(next_code_point(t, i, len));
      mapped = b >= 0;
      raw += static_cast<char>(b);
      i += len;
    }
    bytes += mapped ? raw : t;
  }
  return utf8_lossy(bytes);
}

// Characters of TOKEN as UTF-8 pieces.
std::vector<std::string> characters(const std::string& token) {
  std::vector<std::string> out;
  for (size_t i = 0; i < token.size();) {
    size_t len = 0;
    next_code_point(token, i, len);
    out.push_back(token.substr(i, len));
    i += len;
  }
  return out;
}

std::string replace_literal(const std::string& s, const std::string& what, const std::string& with) {
  if (what.empty()) return s;
  std::string out;
  size_t prev = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, prev)) {
    out.append(s, prev, at - prev);
    out += with;
    prev = at + what.size();
  }
  out.append(s, prev, std::string::npos);
  return out;
}

}  // namespace

TokenDecoder::TokenDecoder(std::vector<DecoderStep> steps, bool present, const std::string& where)
    : steps_(std::move(steps)), present_(present) {
  for (const auto& step : steps_) {
    regex_.push_back(step.kind == DecoderStep::Kind::replace
                         ? std::make_unique<RegexSplitter>(step.pattern, !step.regex,
                                                           where + ": decoder Replace pattern")
                         : nullptr);
  }
}

TokenDecoder::~TokenDecoder() = default;
TokenDecoder::TokenDecoder(TokenDecoder&&) noexcept = default;
TokenDecoder& TokenDecoder::operator=(TokenDecoder&&) noexcept = default;

std::string TokenDecoder::operator()(std::vector<std::string> tokens) const {
  if (!present_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (size_t s = 0; s < steps_.size(); ++s) {
    const DecoderStep& step = steps_[s];
    switch (step.kind) {
      case DecoderStep::Kind::byte_level:
        tokens = {byte_level(tokens)};
        break;
      case DecoderStep::Kind::metaspace:
        for (size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = replace_literal(tokens[i], step.pattern, i == 0 && step.drop_first ? "" : " ");
        break;
      case DecoderStep::Kind::replace:
        for (auto& t : tokens) t = regex_[s]->replace_all(t, step.content);
        break;
      case DecoderStep::Kind::byte_fallback:
        tokens = byte_fallback(std::move(tokens));
        break;
      case DecoderStep::Kind::fuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens = {all};
        break;
      }
      case DecoderStep::Kind::strip:
        for (auto& t : tokens) {
          std::vector<std::string> chars = characters(t);
          size_t begin = 0, end = chars.size();
          while (begin < step.start && begin < end && chars[begin] == step.pattern) ++begin;
          for (size_t k = 0; k < step.stop && end > begin && chars[end - 1] == step.pattern; ++k) --end;
          std::string out;
          for (size_t k = begin; k < end; ++k) out += chars[k];
          t = std::move(out);
        }
        break;
      case DecoderStep::Kind::bpe_suffix:
        for (size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = replace_literal(tokens[i], step.pattern, i + 1 == tokens.size() ? "" : " ");
        break;
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::string TokenDecoder::describe() const {
  if (!present_) return "none";
  static const char* const kNames[] = {"ByteLevel", "Metaspace", "Replace",   "ByteFallback",
                                       "Fuse",      "Strip",     "BPEDecoder"};
  std::string out;
  for (const auto& step : steps_) out += (out.empty() ? "" : " + ") + std::string(kNames[static_cast<int>(step.kind)]);
  return out.empty() ? "none" : out;
}

}  // namespace crammer
