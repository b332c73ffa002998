// A tokenizer.json (text/bpe.hpp) from arbitrary text; a tokenizer that loads encodes a probe.
#include "crammer/text/bpe.hpp"
#include "crammer/text/tokenizer_files.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = crammer::fuzz::write_file("tokenizer.json", data, size);
  crammer::fuzz::expect_only_crammer_errors("fuzz_tokenizer_json", [&] {
    auto bpe = crammer::make_bpe(crammer::read_tokenizer_json(path), crammer::TokenizerConfig{});
    bpe->encode("Hello, world! 123 \xc3\xa9t\xc3\xa9");
  });
  return 0;
}
