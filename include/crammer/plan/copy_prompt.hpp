// The prompt of the paper's in-context control (notebooks/ablations_repeat_text, option 2):
// the crammed text, decoded, placed in "text: TEXT\nrepeat previous text: " and tokenized as
// the model's texts are; the text's own tokens follow it unchanged, so the copy is scored on
// exactly the tokens [mem] carries (cram.in_context_control).
#pragma once

#include <cstdint>
#include <vector>

namespace crammer {

class Tokenizer;

// TEXT: the crammed tokens without a BOS. BOS >= 0: the prompt starts with it (the model's
// texts do); -1: none.
std::vector<int32_t> copy_prompt(const Tokenizer& tok, const std::vector<int32_t>& text, int32_t bos);

}  // namespace crammer
