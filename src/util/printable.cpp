#include "crammer/util/printable.hpp"

#include <cstdint>

namespace crammer {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (2-4), or 0 if there is none: overlong
// forms, surrogates and code points past U+10FFFF are not valid.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t j) { return static_cast<uint8_t>(s[j]); };
  const uint8_t b = byte(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    cp = b & 0x0F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t j = 1; j < n; ++j) {
    if ((byte(i + j) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + j) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    if ((b >= 0x20 && b < 0x7F) || b == '\n' || b == '\t') {
      out += s[i++];
      continue;
    }
    if (size_t n = b >= 0x80 ? utf8_sequence(s, i) : 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    out += "\\x";
    out += hex[b >> 4];
    out += hex[b & 0xF];
    ++i;
  }
  return out;
}

}  // namespace crammer
