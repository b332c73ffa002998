// Corpus readers (text, jsonl, token-ids) and the sentence-boundary rule. Every error names the
// file and line. Not here: sample selection (corpus_samples.cpp).
#include "crammer/text/corpus.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"
#include "crammer/util/utf8.hpp"

namespace crammer {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string read_corpus_file(const std::string& path) {
  if (std::filesystem::is_directory(path)) {
    throw CorpusError("corpus file '" + path + "' is a directory (corpus.paths lists files)");
  }
  return crammer::read_file<CorpusError>(path, "corpus file");
}

void require_paths(const std::vector<std::string>& paths) {
  if (paths.empty()) throw CorpusError("corpus.paths is empty: name at least one corpus file");
}

// Calls fn(line_number, line) for each non-blank line ('\r' of CRLF stripped).
template <typename Fn>
void for_each_line(const std::string& data, Fn fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    ++line_no;
    std::string_view line(data.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool blank = true;
    for (char c : line) blank = blank && is_space(c);
    if (!blank) fn(line_no, line);
    pos = end + 1;
  }
}

std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

const char* json_type_name(const nlohmann::json& j) { return j.type_name(); }

nlohmann::json parse_json_line(const std::string& path, int64_t line_no, std::string_view line) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw CorpusError(where(path, line_no) + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

void check_utf8(std::string_view s, const std::string& source) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_length_at(s, i);
    if (len == 0) {
      int64_t line = 1;
      for (size_t k = 0; k < i; ++k) line += s[k] == '\n';
      std::ostringstream msg;
      msg << where(source, line) << ": invalid UTF-8 at byte offset " << i << " (byte 0x" << std::hex
          << static_cast<int>(static_cast<unsigned char>(s[i])) << "); corpus text must be UTF-8";
      throw CorpusError(msg.str());
    }
    i += len;
  }
}

std::vector<Document> read_text_documents(const std::vector<std::string>& paths) {
  require_paths(paths);
  std::vector<Document> docs;
  for (const auto& path : paths) {
    std::string text = read_corpus_file(path);
    int64_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    text.erase(0, static_cast<size_t>(bom));
    check_utf8(text, path);
    docs.push_back(Document{path, 0, std::move(text), bom});
  }
  return docs;
}

std::vector<Document> read_jsonl_documents(const std::vector<std::string>& paths,
                                           const std::string& text_field) {
  require_paths(paths);
  std::vector<Document> docs;
  for (const auto& path : paths) {
    std::string data = read_corpus_file(path);
    for_each_line(data, [&](int64_t line_no, std::string_view line) {
      const nlohmann::json j = parse_json_line(path, line_no, line);
      if (!j.is_object()) {
        throw CorpusError(where(path, line_no) + ": expected a JSON object with field '" +
                          text_field + "', got a " + json_type_name(j));
      }
      auto it = j.find(text_field);
      if (it == j.end()) {
        throw CorpusError(where(path, line_no) + ": field '" + text_field +
                          "' missing (corpus.text_field names the field holding the text)");
      }
      if (!it->is_string()) {
        throw CorpusError(where(path, line_no) + ": field '" + text_field + "' is a " +
                          json_type_name(*it) + ", expected a string");
      }
      docs.push_back(Document{path, line_no, it->get<std::string>(), 0});
    });
  }
  return docs;
}

std::vector<TokenIdLine> read_token_id_lines(const std::vector<std::string>& paths) {
  require_paths(paths);
  std::vector<TokenIdLine> lines;
  for (const auto& path : paths) {
    std::string data = read_corpus_file(path);
    for_each_line(data, [&](int64_t line_no, std::string_view line) {
      const nlohmann::json j = parse_json_line(path, line_no, line);
      if (!j.is_array()) {
        throw CorpusError(where(path, line_no) + ": expected a JSON array of token ids, got a " +
                          json_type_name(j));
      }
      TokenIdLine out{path, line_no, {}};
      out.ids.reserve(j.size());
      for (size_t i = 0; i < j.size(); ++i) {
        const auto& v = j[i];
        bool ok = v.is_number_integer();
        int64_t id = -1;
        if (ok && v.is_number_unsigned()) {
          ok = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
          if (ok) id = static_cast<int64_t>(v.get<uint64_t>());
        } else if (ok) {
          id = v.get<int64_t>();
          ok = id >= 0 && id <= std::numeric_limits<int32_t>::max();
        }
        if (!ok) {
          throw CorpusError(where(path, line_no) + ", element " + std::to_string(i) + ": " +
                            v.dump() + " is not a token id (expected an integer in [0, 2^31))");
        }
        out.ids.push_back(static_cast<int32_t>(id));
      }
      lines.push_back(std::move(out));
    });
  }
  return lines;
}

void check_token_ids(const std::vector<TokenIdLine>& lines, int64_t vocab_size,
                     const std::string& model_name) {
  for (const auto& l : lines) {
    for (size_t i = 0; i < l.ids.size(); ++i) {
      if (l.ids[i] >= vocab_size) {
        throw CorpusError(where(l.source, l.line) + ", element " + std::to_string(i) + ": token id " +
                          std::to_string(l.ids[i]) + " >= vocab size " + std::to_string(vocab_size) +
                          " of model '" + model_name + "'");
      }
    }
  }
}

bool is_sentence_start(std::string_view text, size_t s) {
  if (s >= text.size() || is_space(text[s])) return false;
  size_t b = s;
  int newlines = 0;
  while (b > 0 && is_space(text[b - 1])) {
    newlines += text[b - 1] == '\n';
    --b;
  }
  if (b == 0) return true;    // start of the document
  if (newlines >= 2) return true;  // paragraph break: an empty or whitespace-only line
  if (b == s) return false;   // no whitespace: inside a word or "3.14"
  char end = text[b - 1];
  if (end != '.' && end != '!' && end != '?') return false;
  if (end == '.') {
    // "Mr. Elliot" is not the end of a sentence.
    size_t k = b - 1;
    while (k > 0 && is_alpha(text[k - 1])) --k;
    std::string_view word = text.substr(k, b - 1 - k);
    if (word == "Mr" || word == "Mrs" || word == "Ms" || word == "Dr" || word == "St") return false;
  }
  return true;
}

size_t next_sentence_start(std::string_view text, size_t pos) {
  for (size_t s = pos; s < text.size(); ++s) {
    if (is_sentence_start(text, s)) return s;
  }
  return std::string_view::npos;
}

}  // namespace crammer
