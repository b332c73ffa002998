// What `crammer plan` prints: task counts per model / n_mem / length, a cost estimate and the
// sample table. Torch-free. Not here: the command line itself (app layer).
#pragma once

#include <string>

#include "crammer/config/experiment_config.hpp"
#include "crammer/plan/planner.hpp"

namespace crammer {

// Cost in token-steps: one optimisation step over a sequence of k + L positions costs k + L.
// Multiply by ~4 x (non-embedding parameters) for FLOPs (forward, and backward to the inputs
// only: the model is frozen). Upper bound, S = cram.optimizer.max_steps:
//   grid task                       (k + L) * S
//   bisect task (n grid lengths <= task.length)
//                                   ceil(log2(n + 1)) * (k + task.length) * S
//   progressive task                sum over grid lengths L <= task.length of (k + L) * S
// Tasks stop early at target_accuracy, so the real cost is lower; it cannot be predicted before
// running (it depends on where capacity lies), and no "expected" figure is given.
// S = 0 (baseline rows only) costs no optimisation steps: the bound is 0.
struct PlanCost {
  double tokens_per_step = 0;    // the sums above without the factor S
  double token_steps_upper = 0;  // tokens_per_step * S
};

PlanCost estimate_cost(const ExperimentConfig& config, const Plan& plan);

// The human-readable summary printed by `crammer plan`.
std::string plan_summary(const ExperimentConfig& config, const Plan& plan);

}  // namespace crammer
