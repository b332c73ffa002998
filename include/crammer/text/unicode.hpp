// UTF-8 and Unicode helpers the tokenizers share: GPT-2's byte-level map, decoding one code
// point, NFC normalisation (ICU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crammer {

// GPT-2's reversible map: printable Latin-1 bytes keep their code point, the other 68 bytes
// map to U+0100.. in byte order. byte_to_unicode()[b] is the code point of byte b.
const std::vector<uint32_t>& byte_to_unicode();
// The byte a byte-level character stands for, or -1 for a character outside the map.
int byte_level_byte(uint32_t cp);
// Raw bytes -> byte-level token text (" world" -> "Ġworld"); byte_level_byte inverts it.
std::string bytes_to_byte_level(std::string_view bytes);
// Unicode normalisation forms of valid UTF-8 TEXT (ICU). Without ICU in the build
// (CRAMMER_HAVE_ICU unset) ASCII text passes and other text throws TokenizerError naming WHERE.
enum class NormalForm { nfc, nfd, nfkc, nfkd };
std::string unicode_normalize(std::string_view text, NormalForm form, const std::string& where);
inline std::string nfc_normalize(std::string_view text, const std::string& where) {
  return unicode_normalize(text, NormalForm::nfc, where);
}
// Full lowercase mapping of each code point on its own (Rust's char::to_lowercase, which
// Hugging Face's Lowercase normalizer applies: no context, so a final sigma stays σ).
std::string unicode_lowercase(std::string_view text, const std::string& where);
// Unicode's White_Space property (Rust's char::is_whitespace).
bool is_white_space(uint32_t cp);
// Bytes as UTF-8 with each maximal invalid subsequence replaced by U+FFFD (Rust's
// String::from_utf8_lossy, what Hugging Face's byte-level decoders return).
std::string utf8_lossy(std::string_view bytes);
void append_utf8(std::string& out, uint32_t cp);

// Decodes the UTF-8 character at s[i]; sets LEN to its byte length (1 for a stray byte,
// whose value is then returned as is).
uint32_t next_code_point(std::string_view s, size_t i, size_t& len);

}  // namespace crammer
