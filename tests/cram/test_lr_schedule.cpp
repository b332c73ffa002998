// cram.optimizer.schedule against transformers: the learning rate of every update and the
// trajectory of a parameter under crammer's AdamW, both as transformers' schedules on
// torch.optim.AdamW give them (fixtures/lr_schedules.json, written by
// tests/reference/make_lr_schedules.py; regenerated live by reference_live_lr_schedules).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "crammer/cram/engine.hpp"
#include "crammer/cram/lr_schedule.hpp"

namespace crammer {
namespace {

nlohmann::json fixture() {
  const char* live = std::getenv("CRAMMER_LR_SCHEDULES");
  const std::string path = live ? live : std::string(CRAMMER_SOURCE_DIR) + "/tests/cram/fixtures/lr_schedules.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

OptimizerConfig config_of(const nlohmann::json& c) {
  OptimizerConfig o;
  o.schedule = c["schedule"].get<std::string>();
  o.lr = c["lr"].get<double>();
  o.warmup_steps = c["warmup_steps"].get<int64_t>();
  o.min_lr = c["min_lr"].get<double>();
  o.max_steps = c["max_steps"].get<int64_t>();
  return o;  // betas 0.9/0.9, weight decay 0.01, eps 1e-8: the defaults the fixture used
}

TEST(LrSchedule, EveryUpdatesRateIsTransformers) {
  const auto f = fixture();
  ASSERT_GE(f["cases"].size(), 5u);
  for (const auto& c : f["cases"]) {
    const OptimizerConfig o = config_of(c);
    const auto& want = c["lrs"];
    ASSERT_EQ(want.size(), static_cast<size_t>(o.max_steps));
    for (int64_t t = 0; t < o.max_steps; ++t)
      EXPECT_NEAR(scheduled_lr(o, t), want[t].get<double>(), 1e-15 + 1e-12 * o.lr)
          << o.schedule << " warmup " << o.warmup_steps << " update " << t;
  }
}

TEST(LrSchedule, AdamWTrajectoryIsTorchsUnderTheSchedule) {
  const auto f = fixture();
  const auto target = torch::tensor(f["target"].get<std::vector<float>>());
  for (const auto& c : f["cases"]) {
    const OptimizerConfig o = config_of(c);
    auto p = torch::tensor(f["p0"].get<std::vector<float>>());
    auto state = adamw_init(p);
    for (int64_t t = 0; t < o.max_steps; ++t) {
      adamw_step(p, 2 * (p - target), state, o);
      const auto want = torch::tensor(c["params"][t].get<std::vector<float>>());
      // f32 rounding (torch's lerp against crammer's mul + add) drifts by ulps over 40 updates; a
      // wrong rate at any update moves values by ~lr.
      ASSERT_TRUE(torch::allclose(p, want, 1e-5, 1e-6))
          << o.schedule << " warmup " << o.warmup_steps << " after update " << t + 1 << ": " << p << " vs " << want;
    }
  }
}

}  // namespace
}  // namespace crammer
