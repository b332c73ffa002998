// UTF-8 and Unicode helpers of the tokenizers (unicode.hpp): GPT-2's byte-level map, code-point
// decoding, NFC through ICU.
#include "crammer/text/unicode.hpp"

#include <algorithm>

#include "crammer/util/error.hpp"

#ifdef CRAMMER_HAVE_ICU
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#endif

namespace crammer {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

const std::vector<int>& unicode_to_byte() {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(512, -1);
    const auto& fwd = byte_to_unicode();
    for (int b = 0; b < 256; ++b) inv[fwd[b]] = b;
    return inv;
  }();
  return inverse;
}

}  // namespace

// Decodes the UTF-8 character at s[i]; sets LEN to its byte length (1 for a stray byte,
// whose value is then returned as is).
uint32_t next_code_point(std::string_view s, size_t i, size_t& len) {
  auto c = static_cast<unsigned char>(s[i]);
  int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    len = 1;
    return c;
  }
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  len = static_cast<size_t>(n);
  return cp;
}

const std::vector<uint32_t>& byte_to_unicode() {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(256);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

int byte_level_byte(uint32_t cp) {
  const auto& inv = unicode_to_byte();
  return cp < inv.size() ? inv[cp] : -1;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& fwd = byte_to_unicode();
  std::string out;
  for (char c : bytes) append_utf8(out, fwd[static_cast<unsigned char>(c)]);
  return out;
}

#ifdef CRAMMER_HAVE_ICU
namespace {

std::u16string to_utf16(std::string_view text, UErrorCode& err) {
  std::u16string utf16(text.size(), u'\0');  // UTF-16 never needs more units than UTF-8 bytes
  int32_t len16 = 0;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &len16, text.data(),
                static_cast<int32_t>(text.size()), &err);
  utf16.resize(static_cast<size_t>(len16));
  return utf16;
}

std::string to_utf8(const std::u16string& text, UErrorCode& err) {
  std::string out(text.size() * 3, '\0');
  int32_t len8 = 0;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len8, text.data(),
              static_cast<int32_t>(text.size()), &err);
  out.resize(static_cast<size_t>(len8));
  return out;
}

}  // namespace
#endif

std::string unicode_normalize(std::string_view text, NormalForm form, const std::string& where) {
  static const char* const kNames[] = {"NFC", "NFD", "NFKC", "NFKD"};
  const char* name = kNames[static_cast<int>(form)];
  // ASCII is in every normal form: skip the UTF-16 round trip for the common case.
  bool ascii = std::all_of(text.begin(), text.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return std::string(text);
#ifdef CRAMMER_HAVE_ICU
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* norm = form == NormalForm::nfc    ? unorm2_getNFCInstance(&err)
                             : form == NormalForm::nfd  ? unorm2_getNFDInstance(&err)
                             : form == NormalForm::nfkc ? unorm2_getNFKCInstance(&err)
                                                        : unorm2_getNFKDInstance(&err);
  auto check = [&](const char* step) {
    if (U_FAILURE(err)) {
      throw TokenizerError(where + ": " + name + " normalisation failed in " + step + ": " +
                           u_errorName(err));
    }
  };
  check("unorm2_get*Instance");
  std::u16string utf16 = to_utf16(text, err);
  check("u_strFromUTF8");
  const int32_t len16 = static_cast<int32_t>(utf16.size());
  if (unorm2_isNormalized(norm, utf16.data(), len16, &err) && U_SUCCESS(err)) {
    return std::string(text);
  }
  err = U_ZERO_ERROR;
  // NFC can grow text (up to 3x in UTF-16 units); ask ICU for the size first.
  int32_t need = unorm2_normalize(norm, utf16.data(), len16, nullptr, 0, &err);
  if (err != U_BUFFER_OVERFLOW_ERROR) check("unorm2_normalize (size)");
  err = U_ZERO_ERROR;
  std::u16string normal(static_cast<size_t>(need), u'\0');
  unorm2_normalize(norm, utf16.data(), len16, normal.data(), need, &err);
  check("unorm2_normalize");
  std::string out = to_utf8(normal, err);
  check("u_strToUTF8");
  return out;
#else
  throw TokenizerError(where + ": normalizer " + name +
                       " on non-ASCII text needs ICU, and this build "
                       "has none (rebuild with libicu-dev: CRAMMER_HAVE_ICU)");
#endif
}

std::string unicode_lowercase(std::string_view text, const std::string& where) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    uint32_t cp = next_code_point(text, i, len);
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else {
#ifdef CRAMMER_HAVE_ICU
      UErrorCode err = U_ZERO_ERROR;
      std::u16string one = to_utf16(text.substr(i, len), err);
      UChar lower[8];  // the longest full lowercase mapping is 3 code points
      int32_t n = u_strToLower(lower, 8, one.data(), static_cast<int32_t>(one.size()), "", &err);
      std::string piece = U_SUCCESS(err) ? to_utf8(std::u16string(lower, lower + n), err) : "";
      if (U_FAILURE(err))
        throw TokenizerError(where + ": Lowercase failed: " + u_errorName(err));
      out += piece;
#else
      throw TokenizerError(where + ": normalizer Lowercase on non-ASCII text needs ICU, and this "
                                   "build has none (rebuild with libicu-dev: CRAMMER_HAVE_ICU)");
#endif
    }
    i += len;
  }
  return out;
}

bool is_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto in = [&](size_t k, unsigned lo, unsigned hi) {
    if (k >= s.size()) return false;
    auto c = static_cast<unsigned char>(s[k]);
    return c >= lo && c <= hi;
  };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    // The allowed range of each continuation byte after lead byte C (Unicode Table 3-7).
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    size_t k = i + 1;
    int got = 0;
    while (got < need && in(k, got == 0 ? lo : 0x80, got == 0 ? hi : 0xBF)) {
      ++k;
      ++got;
    }
    if (need > 0 && got == need) {
      out.append(s.substr(i, k - i));
    } else {
      out += "\xEF\xBF\xBD";  // one U+FFFD per maximal invalid subsequence
    }
    i = k;
  }
  return out;
}

}  // namespace crammer
