// PCRE2 wrapper behind the regex pre-tokenizers (regex_splitter.hpp). Not the BPE model.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "crammer/text/regex_splitter.hpp"

#include <pcre2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "crammer/util/error.hpp"

namespace crammer {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf));
}

pcre2_code* as_code(void* p) { return static_cast<pcre2_code*>(p); }

// Match data plus a JIT stack big enough for long whitespace runs (`\s+(?!\S)` backtracks).
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchScratch(pcre2_code* code, bool jit) {
    data = pcre2_match_data_create_from_pattern(code, nullptr);
    if (jit) {
      context = pcre2_match_context_create(nullptr);
      stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
      pcre2_jit_stack_assign(context, nullptr, stack);
    }
  }
  ~MatchScratch() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
};

}  // namespace

RegexSplitter::RegexSplitter(const std::string& pattern, bool literal, const std::string& where)
    : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2_LITERAL admits no PCRE2_UCP (and needs none).
  uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &err, &offset, nullptr);
  if (!code) {
    throw TokenizerError(where + ": regex does not compile at offset " + std::to_string(offset) +
                         ": " + pcre2_message(err) + " (pattern: " + pattern + ")");
  }
  code_ = code;
  // JIT is an optimisation only: without it pcre2_match interprets the same pattern.
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() { pcre2_code_free(as_code(code_)); }

std::vector<std::pair<size_t, size_t>> RegexSplitter::matches(std::string_view text,
                                                              std::vector<int>* marks) const {
  std::vector<std::pair<size_t, size_t>> out;
  MatchScratch scratch(as_code(code_), jit_);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    // The caller validated UTF-8 once; re-checking per call would make the loop quadratic.
    int rc = pcre2_match(as_code(code_), subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                         scratch.data, scratch.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      throw TokenizerError("pre-tokenizer regex failed at byte " + std::to_string(start) + ": " +
                           pcre2_message(rc) + " (pattern: " + pattern_ + ")");
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data);
    size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      if (marks) {
        PCRE2_SPTR mark = pcre2_get_mark(scratch.data);
        marks->push_back(mark ? std::atoi(reinterpret_cast<const char*>(mark)) : -1);
      }
    }
    if (e > b) {
      start = e;
    } else {
      // An empty match: step over one whole UTF-8 character so the loop advances.
      start = b + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        ++start;
    }
  }
  return out;
}

std::string RegexSplitter::replace_all(std::string_view text, std::string_view with) const {
  std::string out;
  size_t prev = 0;
  for (auto [b, e] : matches(text)) {
    out.append(text.substr(prev, b - prev));
    out.append(with);
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text, SplitBehavior behavior,
                                                   bool invert) const {
  // As Hugging Face's NormalizedString::split: the text as segments (gap or match, each
  // flagged), the flags flipped by INVERT, then pieces per BEHAVIOR.
  struct Seg {
    size_t begin, end;
    bool match;
  };
  std::vector<Seg> segs;
  size_t prev = 0;
  for (auto [b, e] : matches(text)) {
    if (b > prev) segs.push_back({prev, b, invert});
    segs.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) segs.push_back({prev, text.size(), invert});

  std::vector<Seg> pieces;  // their flag: the piece is removed
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::isolated:
      for (Seg s : segs) pieces.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::removed:
      pieces = segs;
      break;
    case SplitBehavior::contiguous:  // neighbours of the same kind become one piece
      for (size_t i = 0; i < segs.size(); ++i) {
        if (i > 0 && segs[i].match == segs[i - 1].match)
          pieces.back().end = segs[i].end;
        else
          pieces.push_back({segs[i].begin, segs[i].end, false});
      }
      break;
    case SplitBehavior::merged_with_previous:  // a match joins the gap before it
      for (Seg s : segs) {
        if (s.match && !previous_match && !pieces.empty())
          pieces.back().end = s.end;
        else
          pieces.push_back({s.begin, s.end, false});
        previous_match = s.match;
      }
      break;
    case SplitBehavior::merged_with_next:  // a match joins the gap after it
      for (size_t i = segs.size(); i-- > 0;) {
        Seg s = segs[i];
        if (s.match && !previous_match && !pieces.empty())
          pieces.back().begin = s.begin;
        else
          pieces.push_back({s.begin, s.end, false});
        previous_match = s.match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  std::vector<std::string_view> out;
  for (Seg s : pieces)
    if (!s.match && s.end > s.begin) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

void require_valid_utf8(std::string_view text, const std::string& what) {
  // An empty anchored pattern matches at once, so pcre2_match costs just its UTF-8 check.
  static pcre2_code* const empty = [] {
    int err = 0;
    PCRE2_SIZE offset = 0;
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(""), 0, PCRE2_UTF, &err, &offset, nullptr);
  }();
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  int rc = pcre2_match(empty, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                       PCRE2_ANCHORED, data, nullptr);
  size_t at = pcre2_get_startchar(data);
  pcre2_match_data_free(data);
  if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
    throw TokenizerError(what + " is not valid UTF-8 at byte " + std::to_string(at) + ": " +
                         pcre2_message(rc));
  }
}

}  // namespace crammer
