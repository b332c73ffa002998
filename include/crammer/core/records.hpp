// What a results file records about the models and the sample texts of a sweep.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crammer {

// One sample as tokenized for one model (tokenizers differ between models).
struct SampleRecord {
  int64_t sample_id = 0;
  int32_t model_index = 0;
  std::string source;      // corpus file (or "random-words")
  int64_t offset = 0;      // byte offset of the span in the source (line number for jsonl)
  int64_t text_offset = 0; // byte offset of the span in its document's text (jsonl: in the field)
  std::string text_kind;   // natural | random-words | token-ids
  std::string text;        // the sampled text (enough for the largest length)
  std::vector<int32_t> token_ids;
};

// What the results file records about each model of the sweep.
struct ModelRecord {
  int32_t model_index = 0;
  std::string name;
  std::string path;
  std::string dtype;
  std::string model_type;
  int64_t d_model = 0;
  int64_t num_layers = 0;
  int64_t vocab_size = 0;
  int64_t n_params = 0;
  int32_t bos_token = -1;  // the BOS id every text of this model starts with; -1: none added
  // Tasks the plan holds for this model, skipped ones included (`crammer status`: done of
  // total); -1: unknown (files written before it was recorded).
  int64_t planned_tasks = -1;
};

}  // namespace crammer
