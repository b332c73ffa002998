// Word lists for random-word texts: reading them, and building frequency-ranked ones from text
// (how data/wordlists/austen-top5000.txt was made). Not here: drawing words (corpus_samples).
#include "crammer/text/corpus_words.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"
#include "crammer/util/printable.hpp"
#include "crammer/util/utf8.hpp"

namespace crammer {
namespace {

constexpr size_t kQuoted = 40;  // bytes of a bad line quoted in a message

std::string hex_byte(unsigned char c) {
  static const char digits[] = "0123456789ABCDEF";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string slurp(const std::string& path, const char* what) {
  return read_file<CorpusError>(path, what);
}

// Length of the apostrophe at s[i] (' or UTF-8 U+2019), or 0.
size_t apostrophe_len(const std::string& s, size_t i) {
  if (s[i] == '\'') return 1;
  if (i + 2 < s.size() && s.compare(i, 3, "\xE2\x80\x99") == 0) return 3;
  return 0;
}

void count_words(const std::string& s, std::unordered_map<std::string, int64_t>& counts) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (!is_alpha(static_cast<unsigned char>(s[i])) && apostrophe_len(s, i) == 0) {
      ++i;
      continue;
    }
    size_t begin = i;
    std::string word;
    bool apostrophe_inside = false;
    size_t pending_apostrophes = 0;  // apostrophes after the last letter: dropped if trailing
    while (i < n) {
      if (is_alpha(static_cast<unsigned char>(s[i]))) {
        if (pending_apostrophes > 0 && !word.empty()) apostrophe_inside = true;
        pending_apostrophes = 0;
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
        ++i;
      } else if (size_t a = apostrophe_len(s, i)) {
        ++pending_apostrophes;
        i += a;
      } else {
        break;
      }
    }
    // A run touching another non-ASCII byte may be part of a non-ASCII word: not counted.
    bool poisoned = (begin > 0 && static_cast<unsigned char>(s[begin - 1]) >= 0x80) ||
                    (i < n && static_cast<unsigned char>(s[i]) >= 0x80);
    if (!word.empty() && !apostrophe_inside && !poisoned) ++counts[word];
  }
}

}  // namespace

std::vector<std::string> read_word_list(const std::string& path) {
  const std::string where = "corpus.word_list: " + path;
  std::string data = slurp(path, "word list (corpus.word_list)");
  // A binary file says so once, instead of a line of escaped bytes.
  for (size_t i = 0; i < data.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c < 0x20 && !is_space(static_cast<char>(c)))
      throw CorpusError(where + ": not a text file (byte " + hex_byte(c) + " at offset " + std::to_string(i) +
                        "); expected one word per line in UTF-8");
  }
  std::vector<std::string> words;
  std::unordered_set<std::string> seen;
  std::istringstream in(data);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string at = where + ":" + std::to_string(line_no);
    for (size_t i = 0; i < line.size();) {
      const size_t n = utf8_length_at(line, i);
      if (n == 0)
        throw CorpusError(at + ": not valid UTF-8 (byte " + hex_byte(static_cast<unsigned char>(line[i])) +
                          " at column " + std::to_string(i + 1) + "); a word list is UTF-8 text (a Latin-1 " +
                          "file converts with `iconv -f latin1 -t utf-8`)");
      i += n;
    }
    size_t b = 0, e = line.size();
    while (b < e && is_space(line[b])) ++b;
    while (e > b && is_space(line[e - 1])) --e;
    if (b == e) continue;
    std::string word = line.substr(b, e - b);
    if (std::any_of(word.begin(), word.end(), is_space))
      throw CorpusError(at + ": '" + printable(word.substr(0, kQuoted)) + (word.size() > kQuoted ? "..." : "") +
                        "' holds whitespace; a word list has one word per line");
    if (seen.insert(word).second) words.push_back(std::move(word));
  }
  if (words.empty()) throw CorpusError(where + ": holds no words (one word per line)");
  return words;
}

std::vector<WordCount> build_word_list(const std::vector<std::string>& paths, int64_t top_n) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& p : paths) count_words(slurp(p, "text file"), counts);
  std::vector<WordCount> out;
  out.reserve(counts.size());
  for (auto& [w, c] : counts) out.push_back(WordCount{w, c});
  std::sort(out.begin(), out.end(), [](const WordCount& a, const WordCount& b) {
    return a.count != b.count ? a.count > b.count : a.word < b.word;
  });
  if (top_n > 0 && static_cast<int64_t>(out.size()) > top_n) out.resize(static_cast<size_t>(top_n));
  return out;
}

void write_word_list(const std::vector<WordCount>& words, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw CorpusError("cannot write word list '" + path + "': " + std::strerror(errno));
  for (const auto& w : words) out << w.word << '\n';
  if (!out) throw CorpusError("cannot write word list '" + path + "'");
}

}  // namespace crammer
