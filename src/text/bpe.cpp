// The BPE tokenizer (bpe.hpp): encode (added tokens, normalizer, pre-tokenizer, then merges by
// rank with a cache) and decode (the decoder steps). File parsing is bpe_files.cpp and
// tokenizer_json_components.cpp; choosing the file is tokenizer.cpp.
#include "crammer/text/bpe.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <queue>
#include <tuple>

#include "crammer/util/error.hpp"

namespace crammer {
namespace {

// Escapes TEXT for a PCRE2 pattern: backslash before every ASCII non-alphanumeric byte
// (always a literal in PCRE2); UTF-8 multibyte sequences pass through.
std::string regex_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out += '\\';
    out += c;
  }
  return out;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// One alternation of the added tokens in ORDER (indices into ADDED), longest content first:
// PCRE2's leftmost-first then equals the leftmost-longest matching of Hugging Face's splitter.
std::unique_ptr<RegexSplitter> added_regex(const std::vector<AddedToken>& added,
                                           const std::vector<size_t>& members,
                                           const Normalizer* normalize, const std::string& where) {
  if (members.empty()) return nullptr;
  std::vector<std::pair<std::string, size_t>> contents;
  for (size_t i : members)
    contents.emplace_back(normalize ? (*normalize)(added[i].content) : added[i].content, i);
  std::stable_sort(contents.begin(), contents.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  std::string pattern;
  for (const auto& [content, i] : contents) {
    const AddedToken& tok = added[i];
    if (content.empty()) continue;
    if (!pattern.empty()) pattern += '|';
    pattern += "(?:";
    if (tok.lstrip) pattern += "\\s*";
    if (tok.single_word) pattern += "(?<!\\w)";
    pattern += regex_escape(content);
    if (tok.single_word) pattern += "(?!\\w)";
    if (tok.rstrip) pattern += "\\s*";
    pattern += "(*MARK:" + std::to_string(i) + "))";
  }
  return pattern.empty() ? nullptr : std::make_unique<RegexSplitter>(pattern, false, where);
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeSpec spec)
    : source_(std::move(spec.source)),
      vocab_label_(spec.vocab_label),
      normalizer_(std::move(spec.normalizer), source_),
      pre_tokenizer_(std::move(spec.pre_tokenizer), source_),
      decoder_(std::move(spec.decoder), spec.has_decoder, source_),
      ignore_merges_(spec.ignore_merges),
      byte_fallback_(spec.byte_fallback),
      unk_name_(spec.unk_token),
      fuse_unk_(spec.fuse_unk),
      prefix_(spec.continuing_subword_prefix),
      suffix_(spec.end_of_word_suffix),
      template_bos_(std::move(spec.template_bos)) {
  int64_t max_id = -1;
  for (const auto& [text, id] : spec.vocab) {
    if (id < 0) {
      throw TokenizerError(source_ + ": " + spec.vocab_label + ": token " + quote(text) +
                           " has negative id " + std::to_string(id));
    }
    max_id = std::max<int64_t>(max_id, id);
  }
  for (const auto& tok : spec.added) max_id = std::max<int64_t>(max_id, tok.id);
  // The id table is dense (id -> text): a few gaps are normal, an id far past the number of
  // tokens is a broken file that would make it gigabytes.
  const int64_t n_tokens = static_cast<int64_t>(spec.vocab.size() + spec.added.size());
  if (max_id >= 2 * n_tokens + 65536)
    throw TokenizerError(source_ + ": " + spec.vocab_label + ": id " + std::to_string(max_id) +
                         " is far beyond the " + std::to_string(n_tokens) +
                         " tokens it holds (ids are expected to be 0.." +
                         std::to_string(n_tokens - 1) + ", with few gaps)");
  id_token_.resize(static_cast<size_t>(max_id + 1));
  id_known_.assign(id_token_.size(), false);

  vocab_.reserve(spec.vocab.size());
  for (const auto& [text, id] : spec.vocab) {
    if (id_known_[id]) {
      throw TokenizerError(source_ + ": " + spec.vocab_label + ": id " + std::to_string(id) +
                           " is given to two tokens (" + quote(text) + " and " +
                           quote(id_token_[id]) + ")");
    }
    id_token_[id] = text;
    id_known_[id] = true;
    vocab_.emplace(text, id);
    size_t len = 0;
    if (!text.empty()) {
      uint32_t cp = next_code_point(text, 0, len);
      if (len == text.size()) char_id_.emplace(cp, id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab_.find(name);
    byte_token_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (unk_name_) {  // as Hugging Face: an unk_token outside the vocab fails only when needed
    auto it = vocab_.find(*unk_name_);
    if (it != vocab_.end()) unk_ = it->second;
  }

  merges_.reserve(spec.merges.size());
  for (size_t i = 0; i < spec.merges.size(); ++i) {
    const auto& [a, b] = spec.merges[i];
    const std::string& label = spec.merge_labels[i];
    for (const auto* side : {&a, &b}) {
      if (!vocab_.count(*side)) {
        throw TokenizerError(source_ + ": " + label + ": merge " + quote(a + " " + b) +
                             " references unknown symbol " + quote(*side) + " (not in " +
                             spec.vocab_label + ")");
      }
    }
    // With a continuing_subword_prefix the right symbol carries it and the merge drops it.
    std::string merged = a + (!prefix_.empty() && b.compare(0, prefix_.size(), prefix_) == 0
                                  ? b.substr(prefix_.size())
                                  : b);
    auto iab = vocab_.find(merged);
    if (iab == vocab_.end()) {
      throw TokenizerError(source_ + ": " + label + ": merge " + quote(a + " " + b) + " yields " +
                           quote(merged) + ", which is not in " + spec.vocab_label);
    }
    merges_.emplace(pair_key(vocab_.at(a), vocab_.at(b)),
                    std::make_pair(static_cast<int32_t>(i), iab->second));  // first wins
  }

  added_ = std::move(spec.added);
  std::vector<size_t> raw, normalized;
  for (size_t i = 0; i < added_.size(); ++i) {
    const AddedToken& tok = added_[i];
    if (tok.content.empty()) {
      throw TokenizerError(source_ + ": added token id " + std::to_string(tok.id) +
                           " has empty content");
    }
    id_token_[tok.id] = tok.content;
    id_known_[tok.id] = true;
    (tok.normalized && !normalizer_.empty() ? normalized : raw).push_back(i);
  }
  raw_added_ = added_regex(added_, raw, nullptr, source_ + ": added_tokens");
  normalized_added_ = added_regex(added_, normalized, &normalizer_, source_ + ": added_tokens");
  if (pre_tokenizer_.is_plain_byte_level())
    gpt2_ = std::make_unique<RegexSplitter>(kGpt2Pattern, false, "GPT-2 pattern");
}

std::optional<int32_t> BpeTokenizer::token_id(std::string_view content) const {
  for (const auto& tok : added_)
    if (tok.content == content) return tok.id;
  auto it = vocab_.find(std::string(content));
  if (it != vocab_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const {
  require_valid_utf8(text, "text to tokenize");
  return pre_tokenizer_(normalizer_(text), true);
}

template <typename OnGap>
void BpeTokenizer::split_added(std::string_view text, const RegexSplitter* re, bool at_start,
                               OnGap on_gap, std::vector<int32_t>& ids) const {
  if (!re) {
    on_gap(text, at_start);
    return;
  }
  std::vector<int> marks;
  auto hits = re->matches(text, &marks);
  size_t prev = 0;
  for (size_t k = 0; k < hits.size(); ++k) {
    on_gap(text.substr(prev, hits[k].first - prev), at_start && prev == 0);
    ids.push_back(added_.at(static_cast<size_t>(marks[k])).id);
    prev = hits[k].second;
  }
  on_gap(text.substr(prev), at_start && prev == 0);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && uses_bos_) ids.push_back(*bos_);
  require_valid_utf8(text, "text to tokenize");
  split_added(
      text, raw_added_.get(), true,
      [&](std::string_view gap, bool at_start) { encode_segment(gap, at_start, ids); }, ids);
  return ids;
}

// A stretch between raw-matched added tokens: normalized, then split at the added tokens
// matched in normalized text.
void BpeTokenizer::encode_segment(std::string_view text, bool at_start,
                                  std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (normalizer_.empty()) {
    encode_normalized(text, at_start, ids);
    return;
  }
  const std::string normal = normalizer_(text);
  split_added(
      normal, normalized_added_.get(), at_start,
      [&](std::string_view gap, bool start) { encode_normalized(gap, start, ids); }, ids);
}

void BpeTokenizer::encode_normalized(std::string_view text, bool at_start,
                                     std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (gpt2_) {  // the common case: GPT-2's regex, then each piece into the byte-level alphabet
    for (auto piece : gpt2_->split(text, SplitBehavior::isolated))
      bpe_piece(bytes_to_byte_level(piece), ids);
    return;
  }
  for (const auto& piece : pre_tokenizer_(text, at_start)) bpe_piece(piece, ids);
}

void BpeTokenizer::bpe_piece(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return;
  // Long pieces (a SentencePiece-style segment is a whole text) rarely repeat: caching them
  // would only hold memory.
  constexpr size_t kMaxCachedBytes = 256;
  if (piece.size() > kMaxCachedBytes) {
    std::vector<int32_t> out = bpe_merge(piece);
    ids.insert(ids.end(), out.begin(), out.end());
    return;
  }
  std::string key(piece);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> out = bpe_merge(piece);
  ids.insert(ids.end(), out.begin(), out.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= (1u << 20)) cache_.clear();  // bound memory on endless new words
  cache_.emplace(std::move(key), std::move(out));
}

std::vector<int32_t> BpeTokenizer::bpe_merge(std::string_view piece) const {
  if (ignore_merges_) {
    auto it = vocab_.find(std::string(piece));
    if (it != vocab_.end()) return {it->second};
  }
  // Symbols in a linked list; a min-heap of candidate pairs by (rank, position). A popped
  // pair is applied only if both symbols still hold the ids it was pushed with.
  struct Sym {
    int32_t id;
    int prev, next;
  };
  const std::vector<int32_t> first = initial_symbols(piece);
  const int n = static_cast<int>(first.size());
  if (n == 0) return {};
  std::vector<Sym> syms(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) syms[i] = {first[i], i - 1, i + 1 < n ? i + 1 : -1};
  using Cand = std::tuple<int32_t, int, int32_t, int32_t>;  // rank, left pos, left id, right id
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int left) {
    if (left < 0) return;
    int right = syms[left].next;
    if (right < 0) return;
    auto it = merges_.find(pair_key(syms[left].id, syms[right].id));
    if (it != merges_.end()) heap.emplace(it->second.first, left, syms[left].id, syms[right].id);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> dead(static_cast<size_t>(n), false);
  while (!heap.empty()) {
    auto [rank, left, left_id, right_id] = heap.top();
    heap.pop();
    int right = syms[left].next;
    if (dead[left] || syms[left].id != left_id || right < 0 || syms[right].id != right_id) continue;
    syms[left].id = merges_.at(pair_key(left_id, right_id)).second;
    dead[right] = true;
    syms[left].next = syms[right].next;
    if (syms[left].next >= 0) syms[syms[left].next].prev = left;
    push(syms[left].prev);
    push(left);
  }
  std::vector<int32_t> out;
  for (int i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
  return out;
}

// The symbols merges start from, one per character (with the subword prefix / word suffix);
// a character outside the vocabulary becomes its <0xXX> byte tokens (byte_fallback, when all
// exist), else the unk token (once per run with fuse_unk).
std::vector<int32_t> BpeTokenizer::initial_symbols(std::string_view piece) const {
  std::vector<int32_t> out;
  out.reserve(piece.size());
  const bool plain = prefix_.empty() && suffix_.empty();
  bool last_unk = false;
  for (size_t i = 0; i < piece.size();) {
    size_t len = 0;
    uint32_t cp = next_code_point(piece, i, len);
    std::string_view ch = piece.substr(i, len);
    const bool first = i == 0;
    i += len;
    int32_t id = -1;
    if (plain) {
      auto it = char_id_.find(cp);
      if (it != char_id_.end()) id = it->second;
    } else {
      std::string symbol = (first ? std::string() : prefix_) + std::string(ch) +
                           (i == piece.size() ? suffix_ : std::string());
      auto it = vocab_.find(symbol);
      if (it != vocab_.end()) id = it->second;
    }
    if (id >= 0) {
      out.push_back(id);
      last_unk = false;
      continue;
    }
    if (byte_fallback_ &&
        std::all_of(ch.begin(), ch.end(),
                    [&](char c) { return byte_token_[static_cast<unsigned char>(c)] >= 0; })) {
      for (char c : ch) out.push_back(byte_token_[static_cast<unsigned char>(c)]);
      last_unk = false;
      continue;
    }
    if (unk_name_) {
      if (!unk_) {
        throw TokenizerError(source_ + ": model.unk_token " + quote(*unk_name_) + " is not in " +
                             vocab_label_ + " (needed for character " + quote(ch) + ")");
      }
      if (!(fuse_unk_ && last_unk)) out.push_back(*unk_);
      last_unk = true;
      continue;
    }
    char hex[16];
    std::snprintf(hex, sizeof(hex), "U+%04X", cp);
    throw TokenizerError(source_ + ": character " + quote(ch) + " (" + hex +
                         ") is not in the vocabulary and there is no byte_fallback <0xXX> token "
                         "or unk_token for it");
  }
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_token_.size() || !id_known_[id]) {
      throw TokenizerError(source_ + ": decode: id " + std::to_string(id) +
                           " is not a token of this vocabulary (size " +
                           std::to_string(id_token_.size()) + ")");
    }
    tokens.push_back(id_token_[id]);
  }
  return decoder_(std::move(tokens));
}

std::string BpeTokenizer::describe() const {
  const std::string pre = pre_tokenizer_.describe();
  const std::string kind = pre.find("ByteLevel") != std::string::npos ? "byte-level BPE"
                           : pre.find("Metaspace") != std::string::npos ||
                                   normalizer_.describe().find("\xE2\x96\x81") != std::string::npos
                               ? "SentencePiece-style BPE"
                               : "BPE";
  std::string s = kind + " from " + source_ + ": " + std::to_string(vocab_size()) + " ids, " +
                  std::to_string(merges_.size()) + " merges, " + std::to_string(added_.size()) +
                  " added tokens, normalizer " +
                  (normalizer_.empty() ? std::string("none") : normalizer_.describe()) +
                  ", pre-tokenizer " + pre + (byte_fallback_ ? ", byte_fallback" : "") +
                  ", decoder " + decoder_.describe();
  s += ", bos " + (bos_ ? std::to_string(*bos_) + (uses_bos_ ? " (prepended)" : " (not prepended)")
                        : std::string("none"));
  s += ", eos " + (eos_ ? std::to_string(*eos_) : std::string("none"));
  return s;
}

}  // namespace crammer
