// Opening every model once before the run (preflight.hpp).
#include "crammer/plan/preflight.hpp"

#include "crammer/model/checkpoint_info.hpp"
#include "crammer/model/hf_config.hpp"
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
    // A rank above the width would give a parametrisation with more directions than the space.
    const int64_t rank = config.cram.mem_rank;
    if (rank > 0) {
      const int64_t d = embedding_dim(read_model_spec(m.path));
      if (rank > d)
        throw ConfigError(source + ": cram.mem_rank: " + std::to_string(rank) + " > " + std::to_string(d) +
                          ", the width of model '" + m.name + "''s [mem] vectors (models." + std::to_string(i) +
                          "): use a rank <= " + std::to_string(d));
    }
  }
}

}  // namespace crammer
