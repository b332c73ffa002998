// copy_prompt (copy_prompt.hpp).
#include "crammer/plan/copy_prompt.hpp"

#include <string>

#include "crammer/text/tokenizer.hpp"

namespace crammer {

std::vector<int32_t> copy_prompt(const Tokenizer& tok, const std::vector<int32_t>& text, int32_t bos) {
  const std::string prompt = "text: " + tok.decode(text) + "\nrepeat previous text: ";
  std::vector<int32_t> ids;
  if (bos >= 0) ids.push_back(bos);
  const std::vector<int32_t> body = tok.encode(prompt, false);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace crammer
