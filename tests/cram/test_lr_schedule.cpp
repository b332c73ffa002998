// cram.optimizer.schedule against transformers: the learning rate of every update and the
// trajectory of a parameter under crammer's AdamW, both as transformers' schedules on
// torch.optim.AdamW give them (fixtures/lr_schedules.json, written by
// tests/reference/make_lr_schedules.py; regenerated live by reference_live_lr_schedules).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "crammer/cram/ops.hpp"
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

TEST(LrSchedule, CosineLengthIsScheduleStepsAndHoldsAtTheFloorPastIt) {
  OptimizerConfig o;
  o.schedule = "cosine";
  o.lr = 0.1;
  o.min_lr = 0.01;
  o.warmup_steps = 4;
  o.max_steps = 10;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 7), 0.01 + 0.09 * (1 + std::cos(M_PI * 0.5)) / 2);  // S = max_steps
  o.schedule_steps = 44;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 2), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 24), 0.01 + 0.09 * (1 + std::cos(M_PI * 0.5)) / 2);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 44), 0.01);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 70), 0.01) << "past S the rate stays at the floor";
}

// A batch whose second sample carries 7 earlier updates (a progressive search's carried AdamW)
// steps each sample as the one-sample AdamW would: the first from scratch, the second as the
// continuation of its own 7 updates (bias correction and the schedule at 7, 8, ...).
TEST(LrSchedule, CarriedSamplesStepAsTheirOwnRunsContinued) {
  OptimizerConfig o;
  o.schedule = "cosine";
  o.lr = 0.05;
  o.min_lr = 0.005;
  o.warmup_steps = 3;
  o.max_steps = 6;
  o.schedule_steps = 12;
  torch::manual_seed(3);
  const auto target = torch::randn({1, 2, 5});
  auto grad = [&](const torch::Tensor& p) { return 2 * (p - target); };
  auto alone = torch::randn({1, 2, 5}), carried = torch::randn({1, 2, 5});
  auto alone_state = adamw_init(alone), carried_state = adamw_init(carried);
  for (int t = 0; t < 7; ++t) adamw_step(carried, grad(carried), carried_state, o);
  auto batch = torch::cat({alone, carried}).clone();
  AdamWState state = adamw_init(batch);
  state.m = torch::cat({alone_state.m, carried_state.m});
  state.v = torch::cat({alone_state.v, carried_state.v});
  state.carried = {0, 7};
  for (int t = 0; t < 8; ++t) {  // past schedule_steps for the carried sample
    adamw_step(batch, grad(batch), state, o);
    adamw_step(alone, grad(alone), alone_state, o);
    adamw_step(carried, grad(carried), carried_state, o);
    ASSERT_TRUE(torch::allclose(batch[0], alone[0], 1e-6, 1e-7)) << "update " << t;
    ASSERT_TRUE(torch::allclose(batch[1], carried[0], 1e-6, 1e-7)) << "update " << t;
  }
  EXPECT_EQ(state.updates(1), 15);
  state.keep(torch::tensor(std::vector<int64_t>{1}));
  EXPECT_EQ(state.carried, std::vector<int64_t>{7});
}

}  // namespace
}  // namespace crammer
