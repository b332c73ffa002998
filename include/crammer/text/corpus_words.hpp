// Word lists: reading one for random-word texts (corpus.text_kind = random-words), and building
// a frequency-ranked one from text files (data/wordlists/README.md). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace crammer {

// One word per line; surrounding whitespace trimmed; blank lines and repeated words ignored
// (first occurrence kept, file order). Throws CorpusError when the file is missing, holds no
// word, or a line holds two words ("FILE:LINE: ...").
std::vector<std::string> read_word_list(const std::string& path);

struct WordCount {
  std::string word;
  int64_t count = 0;
};

// Frequency-ranked words of UTF-8 text files. A word is a maximal run of ASCII letters and
// apostrophes (' and U+2019) with its leading/trailing apostrophes (quote marks) removed,
// lowercased; words still holding an apostrophe (contractions, possessives: "don't",
// "anne's") are not counted, nor is anything with a non-ASCII letter adjacent ("café").
// Sorted by count (descending), ties by word (ascending); the first `top_n` are returned
// (all when top_n <= 0). Throws CorpusError on an unreadable file.
std::vector<WordCount> build_word_list(const std::vector<std::string>& paths, int64_t top_n);

// Writes the words one per line (the format read_word_list reads).
void write_word_list(const std::vector<WordCount>& words, const std::string& path);

}  // namespace crammer
