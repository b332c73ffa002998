// Corpus readers (DESIGN §6 "Corpus formats") and the sentence-boundary rule used to cut
// natural-text samples. Torch-free. Not here: choosing samples (corpus_samples.hpp).
//
// Formats (corpus.format):
//   text       each file is one document, UTF-8 (a leading BOM is dropped)
//   jsonl      one JSON object per non-blank line; the document is the string in text_field
//   token-ids  one JSON array of integer token ids per non-blank line (pre-tokenized)
// Every reader throws CorpusError naming the file and the line (and field) at fault.
// The whole corpus is read into memory: fine for corpora of a few GB, not for PG-19 at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crammer {

struct Document {
  std::string source;  // file path
  int64_t line = 0;    // jsonl: 1-based line of the object; text: 0 (the whole file)
  std::string text;
  int64_t file_offset = 0;  // text: where `text` starts in the file (3 after a UTF-8 BOM)
};

struct TokenIdLine {
  std::string source;  // file path
  int64_t line = 0;    // 1-based
  std::vector<int32_t> ids;
};

// corpus.format = text. Throws CorpusError on a missing/unreadable file or invalid UTF-8
// (naming file:line and the byte offset).
std::vector<Document> read_text_documents(const std::vector<std::string>& paths);

// corpus.format = jsonl. Blank lines are skipped; anything else must be a JSON object with a
// string at `text_field` (error: "FILE:LINE: ...").
std::vector<Document> read_jsonl_documents(const std::vector<std::string>& paths,
                                           const std::string& text_field);

// corpus.format = token-ids. Blank lines are skipped; ids must be integers in [0, 2^31).
// The check against each model's vocabulary is check_token_ids().
std::vector<TokenIdLine> read_token_id_lines(const std::vector<std::string>& paths);

// Throws CorpusError "FILE:LINE, element I: token id X >= vocab size V of model M" for the
// first out-of-range id.
void check_token_ids(const std::vector<TokenIdLine>& lines, int64_t vocab_size,
                     const std::string& model_name);

// Throws CorpusError naming the file and the first invalid byte (line and byte offset).
void check_utf8(std::string_view text, const std::string& source);

// Sentence starts. A boundary is the start of the document, the point after '.', '!' or '?'
// followed by whitespace (not after the abbreviations Mr Mrs Ms Dr St), or a paragraph break
// (a line that is empty or whitespace-only). The sentence starts at the first non-whitespace
// byte after the boundary. Returns the first sentence start at or after `pos`, or npos.
size_t next_sentence_start(std::string_view text, size_t pos);

// True when `pos` is a sentence start by the rule above.
bool is_sentence_start(std::string_view text, size_t pos);

}  // namespace crammer
