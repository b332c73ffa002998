// The decoder stage of a Hugging Face tokenizer.json pipeline: how token texts become text
// again (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder), each step
// applied to the whole token list as Hugging Face's decode_chain does.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace crammer {

class RegexSplitter;

struct DecoderStep {
  enum class Kind { byte_level, metaspace, replace, byte_fallback, fuse, strip, bpe_suffix };
  Kind kind = Kind::byte_level;
  std::string pattern;  // replace: what is replaced (regex when REGEX); metaspace: "▁";
                        // strip: the character; bpe_suffix: the suffix
  bool regex = false;
  std::string content;         // replace: the replacement
  bool drop_first = true;      // metaspace: the first token loses its "▁" (scheme not never)
  size_t start = 0, stop = 0;  // strip: how many leading / trailing characters at most
};

class TokenDecoder {
 public:
  // PRESENT = false: the file has no decoder; tokens are joined with spaces (as Hugging Face).
  TokenDecoder(std::vector<DecoderStep> steps, bool present, const std::string& where);
  ~TokenDecoder();
  TokenDecoder(TokenDecoder&&) noexcept;
  TokenDecoder& operator=(TokenDecoder&&) noexcept;

  std::string operator()(std::vector<std::string> tokens) const;
  std::string describe() const;

 private:
  std::vector<DecoderStep> steps_;
  std::vector<std::unique_ptr<RegexSplitter>> regex_;  // per step: replace's pattern, else null
  bool present_ = true;
};

}  // namespace crammer
