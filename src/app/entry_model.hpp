// Loading a config's model entry the one way every command does: its dtype, its device.
// Private to the app layer.
#pragma once

#include <memory>

#include "crammer/config/experiment_config.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer {

inline std::shared_ptr<CausalLM> load_entry_model(const ModelEntry& entry, const torch::Device& device) {
  return load_model(entry.path, entry.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32, device);
}

}  // namespace crammer
