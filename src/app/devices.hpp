// runtime.device against what this process and this build can do (LibTorch's view of the GPUs).
// Private to the app layer; the only torch code `crammer plan` runs.
#pragma once

#include <string>

#include "crammer/sweep/context.hpp"

namespace crammer {

// runtime.device -> DistOptions. `computes`: this rank will run models (a worker, or the one
// process), so it must see the GPUs the setting asks for (ConfigError otherwise); the
// coordinator of a multi-rank run needs none and asks LibTorch nothing.
DistOptions device_options(const std::string& device, bool computes);

// For `crammer plan`, which may run where the sweep will not (a login node): ConfigError when
// no node can run `device` with this build (a CPU-only LibTorch and a cuda device); a note
// (empty when none) when this process just sees no GPU or too few.
std::string plan_device_note(const std::string& device);

}  // namespace crammer
