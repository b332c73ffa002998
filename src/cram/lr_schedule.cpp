// Learning-rate schedules of cramming runs (lr_schedule.hpp).
#include "crammer/cram/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace crammer {

double scheduled_lr(const OptimizerConfig& opt, int64_t update) {
  const int64_t warmup = opt.warmup_steps;
  if (update < warmup) return opt.lr * static_cast<double>(update) / static_cast<double>(warmup);
  if (opt.schedule != "cosine") return opt.lr;
  // As transformers: the progress is not clamped below 1 (a run stops at max_steps anyway).
  const double progress = static_cast<double>(update - warmup) /
                          static_cast<double>(std::max<int64_t>(1, opt.max_steps - warmup));
  const double factor = std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  return opt.min_lr + (opt.lr - opt.min_lr) * factor;
}

}  // namespace crammer
