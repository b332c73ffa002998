// The sample table of a sweep: which texts get crammed (the paper's procedure). Torch-free.
//
// Sample i is drawn from a random stream seeded by (corpus.seed, i) alone, so it does not
// depend on the number of ranks or on corpus.samples (raising samples from 16 to 32 keeps the
// first 16). Per kind:
//   natural       a byte offset uniform over the corpus (documents weighted by size), moved
//                 forward to the next sentence start (corpus.hpp); from there a window of
//                 8 bytes per token x max_length (cut at whitespace, so the last word is whole,
//                 and doubled while too few tokens come out) is tokenized per model and the
//                 first max_length ids kept. A candidate that overlaps an earlier sample of
//                 the same document, or that has fewer than max_length tokens before its
//                 document ends, is redrawn (up to 100 draws from the same stream). So samples
//                 do not overlap and reach every length when the corpus is big enough; when it
//                 is not, the first non-overlapping draw (else the first draw) is kept, with a
//                 warning, and the lengths it cannot reach become skipped tasks (plan layer).
//   random-words  words drawn uniformly (with replacement) from corpus.word_list, joined with
//                 single spaces, at least max_length words and more until every model has
//                 max_length tokens.
//   token-ids     sample i is the i-th non-blank line of the corpus files (in order), the same
//                 ids for every model, cut to max_length. Fewer lines than corpus.samples is an
//                 error (no cycling, no silent shrinking: the sweep size would change).
// A model's texts start with its BOS token when SampleModel::bos is set (corpus.add_bos,
// resolved per model by the planner); the BOS counts in max_length, as in the paper's
// `tokenizer(text, max_length=L, truncation=True)`. Texts (Sample::texts) leave it out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

class Tokenizer;

struct SampleModel {
  std::string name;
  const Tokenizer* tokenizer = nullptr;  // required unless corpus.format is token-ids
  int64_t vocab_size = 0;                // token-ids: ids must be below it (0 = unchecked)
  std::optional<int32_t> bos;            // prepended to every text (not to token-ids lines)
};

struct Sample {
  int64_t sample_id = 0;
  std::string source;       // corpus file, or "random-words"
  int64_t offset = 0;       // text: byte offset of the span in the file; jsonl, token-ids: line
  int64_t text_offset = 0;  // byte offset of the span in the document's text (0 for token-ids)
  std::string text_kind;    // natural | random-words | token-ids
  std::vector<std::string> texts;               // per model: the kept tokens decoded
  std::vector<std::vector<int32_t>> token_ids;  // per model: at most max_length ids
};

// Builds corpus.samples samples of each corpus.text_kind (in that order, ids numbered on
// across kinds: with [natural, random-words] and 16 samples, ids 16..31 are the random-word
// texts), each tokenized for every model. Throws CorpusError on bad
// corpus files, an empty corpus, too few token-id lines, or out-of-vocabulary ids.
std::vector<Sample> build_samples(const CorpusConfig& corpus, int64_t max_length,
                                  const std::vector<SampleModel>& models);

// The deterministic random stream behind the samples (SplitMix64), exposed for tests.
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t stream, uint64_t index);
  uint64_t next();
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0, unbiased

 private:
  uint64_t state_;
};

}  // namespace crammer
