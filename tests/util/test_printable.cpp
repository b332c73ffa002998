#include <gtest/gtest.h>

#include "crammer/util/printable.hpp"

namespace crammer {
namespace {

TEST(Printable, TextAndValidUtf8ComeBackUnchanged) {
  const std::string text = "model 'gpt2' at /data/m\u00e9moire \u4e2d\u6587 \U0001F600\nnext\tline";
  EXPECT_EQ(printable(text), text);
}

TEST(Printable, RawBytesAndControlCharactersAreEscaped) {
  EXPECT_EQ(printable(std::string("\x89HDF\r\n\x1a\n", 8)), "\\x89HDF\\x0d\n\\x1a\n");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
}

TEST(Printable, InvalidUtf8SequencesAreEscapedBytewise) {
  EXPECT_EQ(printable("\xc3"), "\\xc3");                  // truncated
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");         // overlong '/'
  EXPECT_EQ(printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");  // overlong, 3 bytes
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate U+D800
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("\xe4\xb8x"), "\\xe4\\xb8x");       // continuation missing
}

TEST(Printable, EveryOutputIsValidUtf8) {
  // Independent check: every byte string of length 1-3 over a spread of bytes escapes into
  // ASCII plus untouched valid sequences, so decoding the result never meets a stray byte.
  const unsigned char pick[] = {0x00, 0x0a, 0x41, 0x7f, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xff};
  for (unsigned char a : pick)
    for (unsigned char b : pick)
      for (unsigned char c : pick) {
        const std::string in{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        const std::string out = printable(in);
        EXPECT_EQ(printable(out), out) << "escaping is not idempotent for " << int(a) << "," << int(b) << "," << int(c);
      }
}

}  // namespace
}  // namespace crammer
