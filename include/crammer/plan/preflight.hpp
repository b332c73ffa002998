// Before a run writes anything: every model of the config is opened once as a worker will open
// it, weights excepted (config.json, the safetensors headers, names, shapes and dtypes), so a
// broken checkpoint stops `crammer plan` and `crammer run` with exit 2 instead of becoming a
// failed row per task.
#pragma once

#include "crammer/config/experiment_config.hpp"

namespace crammer {

// ConfigError "SOURCE: models.N.path: <what is wrong, naming the file and the tensor>".
void preflight_models(const ExperimentConfig& config);

}  // namespace crammer
