// The planner: a validated config + its corpus + tokenizers -> the deterministic task list of a
// sweep. Same config -> same plan, byte for byte, whatever the number of ranks. Torch-free;
// reads no weights (only each checkpoint's config.json).
//
// Task keys (stable, human-readable, independent of order and rank count):
//   grid                 "<model>/k<n_mem>/L<length>/s<sample_id>"   e.g. "gpt2/k1/L64/s3"
//   bisect, progressive  "<model>/k<n_mem>/search/s<sample_id>"
//   with cram.restarts R > 1 each key ends in "/r<j>", j = 0..R-1 (a task per restart).
// cram.length_mode uniform: one grid task per sample at the sample's own length, drawn
// uniformly from [2, max(lengths)] by (corpus.seed, sample id) (the paper's random-length texts).
// Task order: model (config order), n_mem ascending, restart, length ascending (grid), sample id.
// A sample with fewer tokens than a length (its document ends first) gives, for that length,
// a ready-made TaskResult with status skipped in Plan::skipped instead of a task. A search task
// whose sample is shorter than max(lengths) probes up to the largest grid length it has
// (task.length); with fewer tokens than min(lengths) it is skipped.
#pragma once

#include <string>
#include <vector>

#include "crammer/config/experiment_config.hpp"
#include "crammer/core/records.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

class Tokenizer;

struct Plan {
  std::vector<ModelRecord> models;    // config order
  std::vector<SampleRecord> samples;  // model-major: model 0 samples 0..n-1, then model 1, ...
  std::vector<Task> tasks;            // order above
  std::vector<TaskResult> skipped;    // same order as tasks
  // What a researcher must know about this sweep that is not an error (e.g. lengths past a
  // model's sliding window). For people: `crammer plan` prints them, `run` logs them; not in
  // plan_to_json.
  std::vector<std::string> notes;
};

// Loads each model's tokenizer (ModelEntry::tokenizer, else the checkpoint directory; optional
// for token-ids corpora) and builds the plan. Throws CorpusError / TokenizerError /
// ModelLoadError / ConfigError naming what is wrong.
Plan make_plan(const ExperimentConfig& config);

// The same with tokenizers supplied by the caller, one per model (nullptr: none).
Plan make_plan(const ExperimentConfig& config, const std::vector<const Tokenizer*>& tokenizers);

// "model/k4/L128/s7" and "model/k4/search/s7"; with cram.restarts > 1 (restart >= 0) they end
// in "/r<restart>". A sweep of one restart keeps the keys of files written before restarts.
std::string grid_task_key(const std::string& model, int64_t n_mem, int64_t length, int64_t sample_id,
                          int64_t restart = -1);
std::string search_task_key(const std::string& model, int64_t n_mem, int64_t sample_id, int64_t restart = -1);

// Canonical JSON of the whole plan (every field), for determinism checks and debugging.
std::string plan_to_json(const Plan& plan);

}  // namespace crammer
