// YAML + `a.b=v` overrides -> one validated ExperimentConfig; and back to YAML.
// Precedence: struct defaults < file < command-line overrides. Unknown keys are errors.
#pragma once

#include <string>
#include <vector>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

struct LoadOptions {
  bool check_files = true;  // model dirs, corpus files, word list must exist
};

// Reads PATH, applies overrides ("cram.n_mem=[1,2,4]", "models.0.dtype=f32"), converts and
// validates. Throws ConfigError naming the file (or the override), the key path and what was
// expected.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {},
                             const LoadOptions& options = {});

// Same, from YAML text; `source_name` names it in messages.
ExperimentConfig parse_config(const std::string& yaml_text, const std::string& source_name,
                              const std::vector<std::string>& overrides = {},
                              const LoadOptions& options = {});

// The resolved config as YAML, every key present, in schema order. parse_config(to_yaml(c))
// yields c again.
std::string to_yaml(const ExperimentConfig& config);

// Validation of values and cross-checks (called by load_config / parse_config).
void validate(const ExperimentConfig& config, const LoadOptions& options = {});

// A hash of what determines results (models, corpus, cram, runtime.seed), hex. A results file
// written under another fingerprint is refused on resume.
std::string config_fingerprint(const ExperimentConfig& config);

// Every valid key path ("cram.optimizer.lr", "models.N.path", ...), for help and suggestions.
std::vector<std::string> config_keys();

}  // namespace crammer
