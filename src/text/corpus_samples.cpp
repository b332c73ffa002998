// Builds the sample table (which texts get crammed), one tokenization per model. The procedure
// and its guarantees are documented in corpus_samples.hpp. Not here: tasks (plan layer).
#include "crammer/text/corpus_samples.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include "crammer/text/corpus.hpp"
#include "crammer/text/corpus_words.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

// Streams of the sample RNG, so natural and random-word draws never share numbers.
constexpr uint64_t kStreamNatural = 1;
constexpr uint64_t kStreamWords = 2;
constexpr int kMaxDraws = 100;
constexpr size_t kBytesPerToken = 8;  // generous: English BPE averages ~4.5 bytes per token

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// A text's ids for one model: its BOS first when the sweep adds one (it counts in the length).
std::vector<int32_t> encode(const SampleModel& m, std::string_view text) {
  auto ids = m.tokenizer->encode(text, /*add_bos=*/false);
  if (m.bos) ids.insert(ids.begin(), *m.bos);
  return ids;
}

// The kept tokens as text, without the BOS the sweep added.
std::string decode(const SampleModel& m, const std::vector<int32_t>& ids) {
  if (m.bos && !ids.empty() && ids.front() == *m.bos)
    return m.tokenizer->decode(std::vector<int32_t>(ids.begin() + 1, ids.end()));
  return m.tokenizer->decode(ids);
}

std::vector<int32_t> first_n(std::vector<int32_t> ids, int64_t n) {
  if (static_cast<int64_t>(ids.size()) > n) ids.resize(static_cast<size_t>(n));
  return ids;
}

// Tokens of text[start, ...) for one model: a window cut at whitespace, grown until it yields
// max_length tokens or reaches the end of the document. Cutting before whitespace keeps the
// tokenization of the window a prefix of the tokenization of the whole remaining text.
std::vector<int32_t> tokenize_span(const std::string& text, size_t start, int64_t max_length,
                                   const SampleModel& m) {
  size_t window = kBytesPerToken * static_cast<size_t>(max_length);
  while (true) {
    size_t end = std::min(text.size(), start + window);
    if (end < text.size()) {
      size_t cut = end;
      while (cut > start && !is_space(text[cut])) --cut;
      while (cut > start && is_space(text[cut - 1])) --cut;
      if (cut > start) {
        end = cut;
      } else {
        // One giant "word": cut anywhere, but not inside a UTF-8 sequence.
        while (end > start && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
      }
    }
    auto ids = encode(m, std::string_view(text).substr(start, end - start));
    if (static_cast<int64_t>(ids.size()) >= max_length || end >= text.size()) {
      return first_n(std::move(ids), max_length);
    }
    window *= 2;
  }
}

void require_tokenizers(const std::vector<SampleModel>& models, const CorpusConfig& corpus) {
  for (const auto& m : models) {
    if (m.tokenizer == nullptr) {
      throw CorpusError("model '" + m.name + "' has no tokenizer, needed to sample text (corpus.format " +
                        corpus.format + ")");
    }
  }
}

std::vector<Sample> natural_samples(const std::vector<Document>& docs, const CorpusConfig& corpus,
                                    int64_t max_length, const std::vector<SampleModel>& models) {
  std::vector<uint64_t> cum(docs.size() + 1, 0);  // cum[d] = bytes of documents before d
  for (size_t d = 0; d < docs.size(); ++d) cum[d + 1] = cum[d] + docs[d].text.size();
  const uint64_t total = cum.back();
  bool any_text = false;
  for (const auto& d : docs) any_text = any_text || next_sentence_start(d.text, 0) != std::string::npos;
  if (!any_text) throw CorpusError("corpus holds no text (corpus.paths: all documents are empty)");

  struct Span {
    size_t doc;
    size_t begin, end;
  };
  struct Candidate {
    size_t doc = 0, start = 0, span = 0;
    std::vector<std::vector<int32_t>> ids;
    std::vector<std::string> texts;
  };
  std::vector<Span> taken;
  std::vector<Sample> out;
  int64_t n_short = 0, n_overlapping = 0;
  for (int64_t i = 0; i < corpus.samples; ++i) {
    SampleRng rng(corpus.seed, kStreamNatural, static_cast<uint64_t>(i));
    std::optional<Candidate> accepted, first_disjoint, first_any;
    for (int draw = 0; draw < kMaxDraws && !accepted; ++draw) {
      uint64_t u = rng.below(total);
      size_t d = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin()) - 1;
      const std::string& text = docs[d].text;
      size_t s = next_sentence_start(text, static_cast<size_t>(u - cum[d]));
      if (s == std::string::npos) s = next_sentence_start(text, 0);  // past the last sentence
      if (s == std::string::npos) continue;                           // whitespace-only document
      Candidate c{d, s, 0, {}, {}};
      bool long_enough = true;
      for (const auto& m : models) {
        c.ids.push_back(tokenize_span(text, s, max_length, m));
        c.texts.push_back(decode(m, c.ids.back()));
        c.span = std::max(c.span, c.texts.back().size());
        long_enough = long_enough && static_cast<int64_t>(c.ids.back().size()) >= max_length;
      }
      bool disjoint = std::none_of(taken.begin(), taken.end(), [&](const Span& t) {
        return t.doc == d && s < t.end && t.begin < s + c.span;
      });
      if (disjoint && long_enough) {
        accepted = std::move(c);
      } else if (disjoint) {
        if (!first_disjoint) first_disjoint = std::move(c);
      } else if (!first_any) {
        first_any = std::move(c);
      }
    }
    if (!accepted && first_disjoint) {
      ++n_short;
      accepted = std::move(first_disjoint);
    } else if (!accepted) {
      ++n_overlapping;
      accepted = std::move(first_any);
    }
    const Candidate& c = *accepted;
    taken.push_back(Span{c.doc, c.start, c.start + c.span});
    const Document& doc = docs[c.doc];
    Sample smp;
    smp.sample_id = i;
    smp.source = doc.source;
    smp.offset = doc.line > 0 ? doc.line : doc.file_offset + static_cast<int64_t>(c.start);
    smp.text_offset = static_cast<int64_t>(c.start);
    smp.text_kind = "natural";
    smp.texts = c.texts;
    smp.token_ids = c.ids;
    out.push_back(std::move(smp));
  }
  if (n_short > 0) {
    spdlog::warn("corpus: {} of {} samples found no sentence start with {} tokens before the end of "
                 "a document in {} draws each; they are shorter (their longer lengths are skipped)",
                 n_short, corpus.samples, max_length, kMaxDraws);
  }
  if (n_overlapping > 0) {
    spdlog::warn("corpus: {} of {} samples overlap earlier ones: the corpus is too small for {} "
                 "disjoint samples of {} tokens", n_overlapping, corpus.samples, corpus.samples, max_length);
  }
  return out;
}

std::vector<Sample> random_word_samples(const CorpusConfig& corpus, int64_t max_length,
                                        const std::vector<SampleModel>& models) {
  if (!corpus.word_list || corpus.word_list->empty()) {
    throw CorpusError("corpus.text_kind is random-words but corpus.word_list is not set");
  }
  const auto words = read_word_list(*corpus.word_list);
  std::vector<Sample> out;
  for (int64_t i = 0; i < corpus.samples; ++i) {
    SampleRng rng(corpus.seed, kStreamWords, static_cast<uint64_t>(i));
    std::string text;
    auto add_words = [&](int64_t n) {
      for (int64_t w = 0; w < n; ++w) {
        if (!text.empty()) text.push_back(' ');
        text += words[static_cast<size_t>(rng.below(words.size()))];
      }
    };
    // Every word gives at least one token, so max_length words are nearly always enough.
    add_words(max_length);
    Sample smp;
    while (true) {
      smp.token_ids.clear();
      bool enough = true;
      for (const auto& m : models) {
        smp.token_ids.push_back(encode(m, text));
        enough = enough && static_cast<int64_t>(smp.token_ids.back().size()) >= max_length;
      }
      if (enough) break;
      add_words(max_length / 2 + 1);
    }
    smp.sample_id = i;
    smp.source = "random-words";
    smp.text_kind = "random-words";
    for (size_t m = 0; m < models.size(); ++m) {
      smp.token_ids[m] = first_n(std::move(smp.token_ids[m]), max_length);
      smp.texts.push_back(decode(models[m], smp.token_ids[m]));
    }
    out.push_back(std::move(smp));
  }
  return out;
}

std::vector<Sample> token_id_samples(const CorpusConfig& corpus, int64_t max_length,
                                     const std::vector<SampleModel>& models) {
  auto lines = read_token_id_lines(corpus.paths);
  if (static_cast<int64_t>(lines.size()) < corpus.samples) {
    throw CorpusError("corpus.samples = " + std::to_string(corpus.samples) + " but the token-ids " +
                      "corpus holds only " + std::to_string(lines.size()) +
                      " non-blank lines; set corpus.samples <= " + std::to_string(lines.size()));
  }
  lines.resize(static_cast<size_t>(corpus.samples));  // only the lines used are checked
  for (const auto& m : models) {
    if (m.vocab_size > 0) check_token_ids(lines, m.vocab_size, m.name);
  }
  std::vector<Sample> out;
  for (int64_t i = 0; i < corpus.samples; ++i) {
    const auto& l = lines[static_cast<size_t>(i)];
    Sample smp;
    smp.sample_id = i;
    smp.source = l.source;
    smp.offset = l.line;
    smp.text_kind = "token-ids";
    for (const auto& m : models) {
      smp.token_ids.push_back(first_n(l.ids, max_length));
      smp.texts.push_back(m.tokenizer ? m.tokenizer->decode(smp.token_ids.back()) : std::string());
    }
    out.push_back(std::move(smp));
  }
  return out;
}

}  // namespace

SampleRng::SampleRng(uint64_t seed, uint64_t stream, uint64_t index)
    : state_(mix64(mix64(mix64(seed + 0x9E3779B97F4A7C15ull) ^ stream) ^ (index + 1))) {}

uint64_t SampleRng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  return mix64(z);
}

uint64_t SampleRng::below(uint64_t n) {
  // Lemire's multiply-shift with rejection: unbiased and the same on every platform.
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

std::vector<Sample> build_samples(const CorpusConfig& corpus, int64_t max_length,
                                  const std::vector<SampleModel>& models) {
  if (corpus.samples <= 0) {
    throw CorpusError("corpus.samples = " + std::to_string(corpus.samples) + ", expected > 0");
  }
  if (max_length <= 0) {
    throw CorpusError("largest cram length is " + std::to_string(max_length) + ", expected > 0");
  }
  if (corpus.format == "token-ids") return token_id_samples(corpus, max_length, models);
  require_tokenizers(models, corpus);
  if (corpus.text_kind.empty()) throw CorpusError("corpus.text_kind is empty: expected natural and/or random-words");
  std::vector<Sample> out;
  for (const auto& kind : corpus.text_kind) {
    std::vector<Sample> part;
    if (kind == "random-words") {
      part = random_word_samples(corpus, max_length, models);
    } else if (kind == "natural") {
      std::vector<Document> docs;
      if (corpus.format == "text") {
        docs = read_text_documents(corpus.paths);
      } else if (corpus.format == "jsonl") {
        docs = read_jsonl_documents(corpus.paths, corpus.text_field);
      } else {
        throw CorpusError("corpus.format '" + corpus.format + "': expected text, jsonl or token-ids");
      }
      part = natural_samples(docs, corpus, max_length, models);
    } else {
      throw CorpusError("corpus.text_kind '" + kind + "': expected natural or random-words");
    }
    // Each kind draws from its own streams, so its texts do not depend on the other kinds;
    // ids continue across kinds so every sample keeps a unique id.
    const auto first_id = static_cast<int64_t>(out.size());
    for (auto& s : part) {
      s.sample_id += first_id;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace crammer
