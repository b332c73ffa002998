// The learning rate of each AdamW update of a cramming run (cram.optimizer.schedule). The same
// factors as transformers' get_constant_schedule_with_warmup and
// get_cosine_with_min_lr_schedule_with_warmup with num_training_steps = S: update t (0-based: t
// updates came before it) uses
//   warmup (t < W):  lr * t / W
//   constant:        lr
//   cosine:          min_lr + (lr - min_lr) * (1 + cos(pi * min(1, (t - W) / (S - W)))) / 2,
//                    S = schedule_steps, or max_steps when that is 0
// Not for: the AdamW arithmetic itself (adamw_step, ops.hpp).
#pragma once

#include <cstdint>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

double scheduled_lr(const OptimizerConfig& opt, int64_t update);

}  // namespace crammer
