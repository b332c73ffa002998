// Strict UTF-8 validity: no overlong forms, surrogates or code points past U+10FFFF. Config text
// must be valid (YAML cannot carry other bytes), and messages escape what is not (printable.hpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace crammer {

// Byte length (1-4) of the valid UTF-8 character that starts at s[i], or 0 when none does.
size_t utf8_length_at(std::string_view s, size_t i);

bool valid_utf8(std::string_view s);

}  // namespace crammer
