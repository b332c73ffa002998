// The step loop of one cramming batch (DESIGN §4) as an object: each sample's start (cram.init,
// warm starts, carried AdamW state), the batch tensors of the samples still training, one step
// (evaluate every active sample, keep its books, stop it, compact, update) and the run to the
// end. cram_batch (engine.cpp) runs it between the baselines and the rows. Private to src/cram.
//
// Step accounting: evaluation i (i = 0, 1, ...) scores the mem after i AdamW updates, before
// update i + 1. `steps` is the number of updates applied when the sample stopped and
// `steps_to_best` the number applied to reach the best mem, so a sample whose random init is
// already perfect has steps = steps_to_best = 0 and max_steps = M evaluates M + 1 mems.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "crammer/cram/engine.hpp"
#include "crammer/cram/ops.hpp"
#include "crammer/cram/hidden_alignment.hpp"
#include "crammer/cram/mem_params.hpp"

namespace crammer {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0);

// Per-sample bookkeeping on the host.
struct Track {
  int64_t best_correct = -1;
  double best_loss = 0;
  int64_t best_step = 0;
  int64_t last_gain_step = 0;  // last step with a strictly better accuracy (patience)
  int64_t steps = 0;
  // First step whose accuracy reached 95 / 99 / 100 percent (-1: not yet).
  int64_t reached[3] = {-1, -1, -1};
  double wall = 0;
  std::vector<float> curve_loss, curve_acc;
  torch::Tensor best_mem;        // [k, d] f32 CPU ([k + 1, d] under one_step per_text), once stopped
  torch::Tensor stop_m, stop_v;  // AdamW moments [k, d] f32 CPU when it stopped (carry_optimizer)
  int64_t stop_updates = 0;
};

class CramLoop {
 public:
  // `track` (one per item) receives every sample's books; n_targets[b]: the targets it scores.
  CramLoop(CausalLM& model, const std::vector<CramItem>& items, const CramSettings& settings,
           const std::vector<int64_t>& n_targets, std::vector<Track>& track);
  // Steps until every sample stopped; throws Interrupted when stop_requested() is seen.
  void run();
  // The run's shared m [d] f32 on the device (cram.one_step shared); undefined otherwise.
  const torch::Tensor& shared_m() const { return shared_m_; }

 private:
  void start();
  void build();
  bool step(int64_t step);
  // The books of sample j of the batch after an evaluation: which improved, go on or stop.
  void record(int64_t step, size_t j, double loss, int64_t correct, std::vector<int64_t>& improved,
              std::vector<int64_t>& keep, std::vector<int64_t>& leave);
  void remember_best(int64_t step, const torch::Tensor& mem, const std::vector<int64_t>& improved);
  void stop(const std::vector<int64_t>& leave);
  void compact(const std::vector<int64_t>& keep);

  CausalLM& model_;
  const std::vector<CramItem>& items_;
  const CramSettings& settings_;
  const CramConfig& cfg_;
  const std::vector<int64_t>& n_targets_;
  std::vector<Track>& track_;
  const int64_t k_, d_;
  const bool one_step_, align_;
  const torch::Device device_;
  const torch::ScalarType dtype_;
  std::optional<MemParams> params_;
  torch::Tensor shared_m_;
  std::vector<int64_t> active_;  // indices into items of the samples still training
  torch::Tensor text_emb_;       // [B, T - k, d], constant between compactions
  torch::Tensor best_mem_;       // [B, k, d] f32, aligned with active_
  HeadTargets targets_;
  HiddenAlignment alignment_;
  int64_t T_ = 0;
};

}  // namespace crammer
