// Before a run writes anything: every model of the config is opened once as a worker will open
// it, weights excepted (config.json, the safetensors headers, names, shapes and dtypes), so a
// broken checkpoint stops `crammer plan` and `crammer run` with exit 2 instead of becoming a
// failed row per task.
#pragma once

#include "crammer/config/experiment_config.hpp"
#include "crammer/plan/planner.hpp"

namespace crammer {

// ConfigError "SOURCE: models.N.path: <what is wrong, naming the file and the tensor>".
void preflight_models(const ExperimentConfig& config);

// With cram.init_mem: every task of `plan` has its tensor there (named by the task key), of a
// float dtype, shape [k, d] (the task's n_mem, its model's width) and finite values. ConfigError
// "SOURCE: cram.init_mem: FILE: <what, naming the tensor and what was expected>".
void preflight_init_mem(const ExperimentConfig& config, const Plan& plan);

}  // namespace crammer
