// Learning-rate schedules of cramming runs (lr_schedule.hpp).
#include "crammer/cram/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace crammer {

double scheduled_lr(const OptimizerConfig& opt, int64_t update) {
  const int64_t warmup = opt.warmup_steps;
  if (update < warmup) return opt.lr * static_cast<double>(update) / static_cast<double>(warmup);
  if (opt.schedule != "cosine") return opt.lr;
  // As transformers within the cosine's length S; past it (a progressive search carrying its
  // optimizer) the rate stays at the floor instead of rising again.
  const int64_t S = opt.schedule_steps > 0 ? opt.schedule_steps : opt.max_steps;
  const double progress = std::min(1.0, static_cast<double>(update - warmup) /
                                            static_cast<double>(std::max<int64_t>(1, S - warmup)));
  const double factor = std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  return opt.min_lr + (opt.lr - opt.min_lr) * factor;
}

}  // namespace crammer
