// The in-context control's prompt against the paper's notebook (ablations_repeat_text, option
// 2) run through transformers: the ids below are what `tok(f"text: {tok.decode(S)}\nrepeat
// previous text: ")` gives, S being the text's ids without the BOS (recorded with
// transformers 5.17.0 on GPT-2's real tokenizer and the llama3 fixture, which adds a BOS).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crammer/plan/copy_prompt.hpp"
#include "crammer/text/tokenizer.hpp"

namespace crammer {
namespace {

const std::string kRoot = CRAMMER_SOURCE_DIR;
const std::string kText = "She had no dread of these two months.  Mary was\nnot so repulsive";

TEST(CopyPrompt, Gpt2AsTheNotebookWritesIt) {
  auto tok = load_tokenizer(kRoot + "/data/tokenizers/gpt2");
  const std::vector<int32_t> text = tok->encode(kText, false);
  EXPECT_EQ(text, (std::vector<int32_t>{3347, 550, 645, 15157, 286, 777, 734, 1933, 13, 220, 5335, 373, 198, 1662,
                                        523, 1128, 22220}));
  EXPECT_EQ(copy_prompt(*tok, text, -1),
            (std::vector<int32_t>{5239, 25, 1375, 550, 645, 15157, 286, 777, 734, 1933, 13, 220, 5335, 373, 198,
                                  1662, 523, 1128, 22220, 198, 44754, 2180, 2420, 25, 220}));
}

TEST(CopyPrompt, BosTokenizerStartsThePromptWithItsBos) {
  auto tok = load_tokenizer(kRoot + "/tests/reference/fixtures/tokenizers/llama3");
  ASSERT_TRUE(tok->uses_bos());
  std::vector<int32_t> ids = tok->encode(kText, true);
  ASSERT_EQ(ids.front(), *tok->bos_id());
  const std::vector<int32_t> text(ids.begin() + 1, ids.end());
  EXPECT_EQ(copy_prompt(*tok, text, *tok->bos_id()),
            (std::vector<int32_t>{800, 763, 87, 83, 25, 553, 343, 297, 287, 262, 358, 281, 268, 317, 753, 271, 272,
                                  422, 82, 13, 220, 320, 290, 88, 311, 198, 596, 353, 333, 79, 424, 82, 504, 198,
                                  262, 367, 291, 522, 85, 678, 257, 68, 87, 83, 25, 220}));
}

}  // namespace
}  // namespace crammer
