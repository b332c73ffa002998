#include "crammer/util/printable.hpp"

#include <cstdint>

#include "crammer/util/utf8.hpp"

namespace crammer {

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
    if (size_t n = b >= 0x80 ? utf8_length_at(s, i) : 0) {
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
