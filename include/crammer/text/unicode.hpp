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
// Byte-level token text ("Ġworld") -> raw bytes (" world"). Characters outside the map are
// kept as their UTF-8 (as Hugging Face's ByteLevel decoder does).
std::string byte_level_to_bytes(std::string_view token);
// Raw bytes -> byte-level token text (inverse of byte_level_to_bytes).
std::string bytes_to_byte_level(std::string_view bytes);
// Unicode NFC of valid UTF-8 TEXT (ICU). Without ICU in the build (CRAMMER_HAVE_ICU unset)
// ASCII text passes and other text throws TokenizerError naming WHERE.
std::string nfc_normalize(std::string_view text, const std::string& where);

// Decodes the UTF-8 character at s[i]; sets LEN to its byte length (1 for a stray byte,
// whose value is then returned as is).
uint32_t next_code_point(std::string_view s, size_t i, size_t& len);

}  // namespace crammer
