// The BPE model, byte-level or SentencePiece-style (bpe.hpp): encode (added tokens, then
// pre-tokenizer steps or "▁" handling, then merges by rank with a cache) and decode. File
// parsing is in bpe_files.cpp; choosing the file in tokenizer.cpp.
#include "crammer/text/bpe.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <queue>
#include <tuple>
#include <unordered_set>

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

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

// "<0x0A>" -> 0x0A: the byte tokens of a SentencePiece-style vocabulary; -1 for other texts.
int byte_token_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// What a SentencePiece-style token decodes to: its byte, or its text with "▁" as spaces.
std::string piece_bytes(std::string_view text) {
  if (int b = byte_token_value(text); b >= 0) return std::string(1, static_cast<char>(b));
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kMetaspace.size()) == kMetaspace) {
      out += ' ';
      i += kMetaspace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeSpec spec)
    : source_(std::move(spec.source)),
      ignore_merges_(spec.ignore_merges),
      nfc_(spec.nfc),
      metaspace_(spec.metaspace),
      byte_fallback_(spec.byte_fallback),
      fuse_unk_(spec.fuse_unk),
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
  // The id table is dense (id -> bytes): a few gaps are normal, an id far past the number of
  // tokens is a broken file that would make it gigabytes.
  const int64_t n_tokens = static_cast<int64_t>(spec.vocab.size() + spec.added.size());
  if (max_id >= 2 * n_tokens + 65536)
    throw TokenizerError(source_ + ": " + spec.vocab_label + ": id " + std::to_string(max_id) + " is far beyond the " +
                         std::to_string(n_tokens) + " tokens it holds (ids are expected to be 0.." +
                         std::to_string(n_tokens - 1) + ", with few gaps)");
  id_bytes_.resize(static_cast<size_t>(max_id + 1));
  id_known_.assign(id_bytes_.size(), false);

  std::unordered_map<std::string, int32_t> text_to_id;
  text_to_id.reserve(spec.vocab.size());
  bytes_to_id_.reserve(spec.vocab.size());
  for (const auto& [text, id] : spec.vocab) {
    if (id_known_[id]) {
      throw TokenizerError(source_ + ": " + spec.vocab_label + ": id " + std::to_string(id) +
                           " is given to two tokens (" + quote(text) + " and " +
                           quote(bytes_to_byte_level(id_bytes_[id])) + ")");
    }
    std::string bytes = metaspace_ ? piece_bytes(text) : byte_level_to_bytes(text);
    id_bytes_[id] = bytes;
    id_known_[id] = true;
    text_to_id.emplace(text, id);
    bytes_to_id_.emplace(std::move(bytes), id);
  }
  for (int b = 0; b < 256; ++b) {
    if (metaspace_) {  // the <0xXX> tokens, used only with byte_fallback
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      auto it = text_to_id.find(name);
      byte_id_[b] = it == text_to_id.end() ? -1 : it->second;
    } else {
      auto it = bytes_to_id_.find(std::string(1, static_cast<char>(b)));
      byte_id_[b] = it == bytes_to_id_.end() ? -1 : it->second;
    }
  }
  if (metaspace_) piece_to_id_ = text_to_id;
  if (spec.unk_token) {
    auto it = text_to_id.find(*spec.unk_token);
    if (it != text_to_id.end()) {
      unk_ = it->second;
    } else if (metaspace_) {  // byte-level: Hugging Face, too, fails only when a text needs it
      throw TokenizerError(source_ + ": model.unk_token " + quote(*spec.unk_token) + " is not in " +
                           spec.vocab_label);
    }
  }
  if (!metaspace_ && byte_fallback_) {
    // As Hugging Face's BPE: a byte-level symbol missing from the vocabulary becomes the <0xXX>
    // tokens of its UTF-8 bytes when all of them exist (SmolLM2's vocabulary lacks 21 symbols
    // and every <0xXX> token, so there its bytes become the unk token).
    for (int b = 0; b < 256; ++b) {
      if (byte_id_[b] >= 0) continue;
      for (unsigned char u : bytes_to_byte_level(std::string(1, static_cast<char>(b)))) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", u);
        auto it = text_to_id.find(name);
        if (it == text_to_id.end()) {
          fallback_ids_[b].clear();
          break;
        }
        fallback_ids_[b].push_back(it->second);
      }
    }
  }

  merges_.reserve(spec.merges.size());
  for (size_t i = 0; i < spec.merges.size(); ++i) {
    const auto& [a, b] = spec.merges[i];
    const std::string& label = spec.merge_labels[i];
    auto ia = text_to_id.find(a);
    auto ib = text_to_id.find(b);
    for (const auto* side : {&a, &b}) {
      if (!text_to_id.count(*side)) {
        throw TokenizerError(source_ + ": " + label + ": merge " + quote(a + " " + b) +
                             " references unknown symbol " + quote(*side) + " (not in " +
                             spec.vocab_label + ")");
      }
    }
    auto iab = text_to_id.find(a + b);
    if (iab == text_to_id.end()) {
      throw TokenizerError(source_ + ": " + label + ": merge " + quote(a + " " + b) + " yields " +
                           quote(a + b) + ", which is not in " + spec.vocab_label);
    }
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia->second)) << 32) |
                   static_cast<uint32_t>(ib->second);
    merges_.emplace(key, std::make_pair(static_cast<int32_t>(i), iab->second));  // first wins
  }

  added_ = std::move(spec.added);
  if (!added_.empty()) {
    // One alternation, longest content first: PCRE2's leftmost-first then equals the
    // leftmost-longest matching of Hugging Face's added-token splitter.
    std::vector<size_t> order(added_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return added_[x].content.size() > added_[y].content.size();
    });
    std::string pattern;
    for (size_t i : order) {
      const AddedToken& tok = added_[i];
      if (tok.content.empty()) {
        throw TokenizerError(source_ + ": added token id " + std::to_string(tok.id) +
                             " has empty content");
      }
      id_bytes_[tok.id] = tok.content;
      id_known_[tok.id] = true;
      if (!pattern.empty()) pattern += '|';
      pattern += "(?:";
      if (tok.lstrip) pattern += "\\s*";
      if (tok.single_word) pattern += "(?<!\\w)";
      pattern += regex_escape(tok.content);
      if (tok.single_word) pattern += "(?!\\w)";
      if (tok.rstrip) pattern += "\\s*";
      pattern += "(*MARK:" + std::to_string(i) + "))";
    }
    added_regex_ = std::make_unique<RegexSplitter>(pattern, false, source_ + ": added_tokens");
  }

  for (auto& step : spec.pre_tokenizer) {
    Step s{step, nullptr};
    if (step.kind == PreTokenizerStep::Kind::split) {
      s.regex = std::make_unique<RegexSplitter>(step.pattern, step.literal,
                                                source_ + ": pre_tokenizer Split pattern");
    } else if (step.use_regex) {
      s.regex = std::make_unique<RegexSplitter>(kGpt2Pattern, false, "GPT-2 pattern");
    }
    steps_.push_back(std::move(s));
  }
}

std::optional<int32_t> BpeTokenizer::token_id(std::string_view content) const {
  for (const auto& tok : added_)
    if (tok.content == content) return tok.id;
  auto it = bytes_to_id_.find(std::string(content));
  if (it != bytes_to_id_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const {
  require_valid_utf8(text, "text to tokenize");
  if (nfc_) return pre_tokenize_normalized(nfc_normalize(text, source_));
  return pre_tokenize_normalized(text);
}

std::vector<std::string> BpeTokenizer::pre_tokenize_normalized(std::string_view text) const {
  std::deque<std::string> owned;  // a deque keeps views into earlier strings valid
  std::vector<std::string_view> pieces{text};
  for (const auto& step : steps_) {
    std::vector<std::string_view> next;
    for (std::string_view piece : pieces) {
      if (step.spec.kind == PreTokenizerStep::Kind::byte_level && step.spec.add_prefix_space &&
          (piece.empty() || piece.front() != ' ')) {
        owned.push_back(" " + std::string(piece));
        piece = owned.back();
      }
      if (!step.regex) {
        next.push_back(piece);
        continue;
      }
      SplitBehavior behavior = step.spec.kind == PreTokenizerStep::Kind::split
                                   ? step.spec.behavior
                                   : SplitBehavior::isolated;
      for (auto part : step.regex->split(piece, behavior)) next.push_back(part);
    }
    pieces = std::move(next);
  }
  return {pieces.begin(), pieces.end()};
}

void BpeTokenizer::encode_segment(std::string_view text, bool first,
                                  std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (metaspace_) {
    // The whole segment is one word: spaces as "▁", and one "▁" in front per the scheme.
    using P = MetaspaceSpec::Prepend;
    std::string word;
    for (char c : text) {
      if (c == ' ')
        word += kMetaspace;
      else
        word += c;
    }
    const bool scheme = metaspace_->prepend == P::always || (metaspace_->prepend == P::first && first);
    if (scheme && (metaspace_->prepend_always || word.compare(0, kMetaspace.size(), kMetaspace) != 0))
      word.insert(0, kMetaspace);
    bpe_piece(word, ids);
    return;
  }
  std::string normal;
  if (nfc_) {
    normal = nfc_normalize(text, source_);
    text = normal;
  }
  if (steps_.size() == 1 && steps_[0].regex && !steps_[0].spec.add_prefix_space) {
    // The common case (one regex step): no copies of the pieces.
    SplitBehavior behavior = steps_[0].spec.kind == PreTokenizerStep::Kind::split
                                 ? steps_[0].spec.behavior
                                 : SplitBehavior::isolated;
    for (auto piece : steps_[0].regex->split(text, behavior)) bpe_piece(piece, ids);
    return;
  }
  for (const auto& piece : pre_tokenize_normalized(text)) bpe_piece(piece, ids);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && uses_bos_) ids.push_back(*bos_);
  require_valid_utf8(text, "text to tokenize");
  if (!added_regex_) {
    encode_segment(text, /*first=*/true, ids);
    return ids;
  }
  std::vector<int> marks;
  auto hits = added_regex_->matches(text, &marks);
  size_t prev = 0;
  for (size_t k = 0; k < hits.size(); ++k) {
    encode_segment(text.substr(prev, hits[k].first - prev), prev == 0, ids);
    ids.push_back(added_.at(static_cast<size_t>(marks[k])).id);
    prev = hits[k].second;
  }
  encode_segment(text.substr(prev), prev == 0, ids);
  return ids;
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
    auto it = bytes_to_id_.find(std::string(piece));
    if (it != bytes_to_id_.end()) return {it->second};
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
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(syms[left].id)) << 32) |
                   static_cast<uint32_t>(syms[right].id);
    auto it = merges_.find(key);
    if (it != merges_.end()) heap.emplace(it->second.first, left, syms[left].id, syms[right].id);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> dead(static_cast<size_t>(n), false);
  while (!heap.empty()) {
    auto [rank, left, left_id, right_id] = heap.top();
    heap.pop();
    int right = syms[left].next;
    if (dead[left] || syms[left].id != left_id || right < 0 || syms[right].id != right_id) continue;
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(left_id)) << 32) |
                   static_cast<uint32_t>(right_id);
    syms[left].id = merges_.at(key).second;
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

// The symbols merges start from: one per byte (byte-level), or one per character with
// <0xXX> byte tokens (byte_fallback) or <unk> for characters outside the vocabulary.
std::vector<int32_t> BpeTokenizer::initial_symbols(std::string_view piece) const {
  std::vector<int32_t> out;
  out.reserve(piece.size());
  auto no_byte = [&](unsigned char byte) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", byte);
    throw TokenizerError(source_ + ": the vocabulary has no token for byte " + hex +
                         (metaspace_ ? " (byte_fallback needs all 256 <0xXX> tokens)"
                                     : " (a byte-level BPE without model.unk_token needs all 256)"));
  };
  bool last_unk = false;
  auto unknown = [&]() {  // the unk token, once for a run of unknowns with fuse_unk
    if (!(fuse_unk_ && last_unk)) out.push_back(*unk_);
    last_unk = true;
  };
  if (!metaspace_) {
    for (char c : piece) {
      auto byte = static_cast<unsigned char>(c);
      if (byte_id_[byte] >= 0) {
        out.push_back(byte_id_[byte]);
        last_unk = false;
      } else if (!fallback_ids_[byte].empty()) {
        out.insert(out.end(), fallback_ids_[byte].begin(), fallback_ids_[byte].end());
        last_unk = false;
      } else if (unk_) {
        unknown();
      } else {
        no_byte(byte);
      }
    }
    return out;
  }
  for (size_t i = 0; i < piece.size();) {
    size_t len = 0;
    next_code_point(piece, i, len);
    std::string_view ch = piece.substr(i, len);
    i += len;
    auto it = piece_to_id_.find(std::string(ch));
    if (it != piece_to_id_.end()) {
      out.push_back(it->second);
      last_unk = false;
    } else if (byte_fallback_) {
      for (char c : ch) {
        auto byte = static_cast<unsigned char>(c);
        if (byte_id_[byte] < 0) no_byte(byte);
        out.push_back(byte_id_[byte]);
      }
      last_unk = false;
    } else if (unk_) {
      unknown();
    } else {
      throw TokenizerError(source_ + ": character " + quote(ch) +
                           " is not in the vocabulary and there is no byte_fallback or unk_token");
    }
  }
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_bytes_.size() || !id_known_[id]) {
      throw TokenizerError(source_ + ": decode: id " + std::to_string(id) +
                           " is not a token of this vocabulary (size " +
                           std::to_string(id_bytes_.size()) + ")");
    }
    out += id_bytes_[id];
  }
  if (metaspace_ && metaspace_->strip_decoded && !out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

std::string BpeTokenizer::describe() const {
  std::string pre;
  for (const auto& step : steps_) {
    if (!pre.empty()) pre += " + ";
    if (step.spec.kind == PreTokenizerStep::Kind::byte_level) {
      pre += step.spec.use_regex ? "ByteLevel(GPT-2 regex)" : "ByteLevel";
      if (step.spec.add_prefix_space) pre += "(prefix space)";
    } else {
      pre += step.spec.pattern == kLlama3Pattern ? "Split(Llama-3 regex)"
             : step.spec.pattern == kGpt2Pattern ? "Split(GPT-2 regex)"
                                                 : "Split(custom regex)";
    }
  }
  if (metaspace_) pre = "Metaspace";
  std::string s = (metaspace_ ? "SentencePiece-style BPE from " : "byte-level BPE from ") + source_ + ": " + std::to_string(vocab_size()) +
                  " ids, " + std::to_string(merges_.size()) + " merges, " +
                  std::to_string(added_.size()) + " added tokens, " +
                  (nfc_ ? "normalizer NFC, " : "") + "pre-tokenizer " + pre;
  s += ", bos " + (bos_ ? std::to_string(*bos_) + (uses_bos_ ? " (prepended)" : " (not prepended)")
                        : std::string("none"));
  s += ", eos " + (eos_ ? std::to_string(*eos_) : std::string("none"));
  return s;
}

}  // namespace crammer
