// Opening every model once before the run (preflight.hpp).
#include "crammer/plan/preflight.hpp"

#include "crammer/model/checkpoint_info.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

void preflight_models(const ExperimentConfig& config) {
  const std::string source = config.source_file.empty() ? std::string("config") : config.source_file;
  for (size_t i = 0; i < config.models.size(); ++i) {
    const ModelEntry& m = config.models[i];
    const std::string key = source + ": models." + std::to_string(i) + ".path: ";
    if (!has_checkpoint(m.path))
      throw ConfigError(key + "'" + m.path + "' holds no model.safetensors or model.safetensors.index.json " +
                        "(model '" + m.name + "')");
    try {
      check_checkpoint(m.path);
    } catch (const Error& e) {
      throw ConfigError(key + "model '" + m.name + "': " + e.what());
    }
  }
}

}  // namespace crammer
