// One batched cramming run (DESIGN §4), implemented in engine.cpp: the samples of a batch, what
// each yields, and cram_batch. cram_tasks (cram/cram.hpp) builds on it; tests and the benchmark
// call it directly. Not for: the tensor-level pieces (cram/ops.hpp), task grouping or capacity
// search (cram/cram.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "crammer/cram/cram.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

class CausalLM;

// One sample of a cramming batch. All items of a batch share n_mem.
struct CramItem {
  std::string key;
  int32_t model_index = 0;
  int64_t sample_id = 0;
  int32_t n_mem = 1;
  int32_t restart = 0;
  int32_t n_bytes = -1;         // UTF-8 bytes of `tokens` decoded (-1: unknown)
  std::vector<int32_t> context;  // real tokens before the text, not crammed (corpus.prefix_tokens)
  std::vector<int32_t> copy_prompt;  // cram.in_context_control (core/task.hpp); empty: off
  int32_t copy_from = 0;
  std::vector<int32_t> tokens;  // the text to cram, exactly (its length is the row's length)
  torch::Tensor warm_mem;       // optional [k, d] f32 start (progressive search)
  // With warm_mem under cram.carry_optimizer: the AdamW moments [k, d] f32 and the update count
  // that go with it (undefined / 0: a fresh AdamW).
  torch::Tensor warm_m, warm_v;
  int64_t warm_updates = 0;
};

struct CramOutcome {
  TaskResult row;
  torch::Tensor best_mem;  // the trained mem, [k, d] ([k + 1, d] under one_step per_text) f32 CPU (undefined for max_steps 0)
  // The AdamW state when the sample stopped (full-rank mem under cram.carry_optimizer only;
  // else undefined / 0): moments [k, d] f32 CPU and the updates behind them. For a converged sample that is the state of best_mem.
  torch::Tensor stop_m, stop_v;
  int64_t stop_updates = 0;
};

// Samples per CPU micro-batch: as many as keep one [B, T, d] f32 activation within
// kCpuActivationBytesPerThread per intra-op thread (at least 1). Past that the step's working
// set leaves the cache and per-sample throughput falls (cram_bench batching: d_model 256,
// T 65 peaks at batch 8 with 1 thread and 16 with 2, then drops by a third at 64).
constexpr int64_t kCpuActivationBytesPerThread = 512 * 1024;
int64_t cpu_micro_batch(int64_t positions, int64_t d_model, int threads);

// Crams a batch together (DESIGN §4): mem [B, k, d], summed per-sample mean CEs, per-sample
// stop and compaction; on a CPU in micro-batches (CramSettings::micro_batch) one after another.
// Throws on invalid items or model errors; Interrupted on a stop request.
std::vector<CramOutcome> cram_batch(CausalLM& model, const std::vector<CramItem>& items,
                                    const CramSettings& settings);

}  // namespace crammer
