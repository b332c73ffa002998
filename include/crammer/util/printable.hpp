// Text safe to show on a terminal: messages can quote bytes read from a damaged or foreign file
// (a model name in a results file, a token in a vocabulary), and raw bytes there would break
// terminals and the tools that read crammer's output as UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace crammer {

// `s` with every byte that is not part of valid UTF-8, and every control character other than
// newline and tab, written as \xNN. Valid UTF-8 text comes back unchanged.
std::string printable(std::string_view s);

}  // namespace crammer
