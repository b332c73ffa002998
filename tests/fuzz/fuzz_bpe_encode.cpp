// The GPT-2 byte-level BPE encoder (data/tokenizers/gpt2) on arbitrary bytes: valid UTF-8 must
// decode back to itself; anything else must be a TokenizerError, never a crash.
#include "crammer/text/tokenizer.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<crammer::Tokenizer> tok =
      crammer::load_tokenizer(std::string(CRAMMER_SOURCE_DIR) + "/data/tokenizers/gpt2");
  const std::string text(reinterpret_cast<const char*>(data), size);
  crammer::fuzz::expect_only_crammer_errors("fuzz_bpe_encode", [&] {
    const auto ids = tok->encode(text);
    if (tok->decode(ids) != text) std::abort();
  });
  return 0;
}
