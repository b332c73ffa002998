// vocab.json + merges.txt (text/bpe.hpp): the input up to the first NUL byte is vocab.json, the
// rest merges.txt; a tokenizer that loads encodes a probe.
#include <cstring>

#include "crammer/text/bpe.hpp"
#include "crammer/text/tokenizer_files.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t split = nul ? static_cast<size_t>(nul - data) : size;
  const std::string vocab = crammer::fuzz::write_file("vocab.json", data, split);
  const std::string merges =
      crammer::fuzz::write_file("merges.txt", data + std::min(size, split + 1), size - std::min(size, split + 1));
  crammer::fuzz::expect_only_crammer_errors("fuzz_vocab_merges", [&] {
    auto bpe = crammer::make_bpe(crammer::read_vocab_merges(vocab, merges), crammer::TokenizerConfig{});
    bpe->encode("Hello, world! 123 \xc3\xa9t\xc3\xa9");
  });
  return 0;
}
