// The results file a config writes (output.path), read without loading or validating the rest:
// `crammer submit` reports it and keeps array jobs from sharing one file.
#pragma once

#include <string>
#include <vector>

namespace crammer {

// output.path of the config at `config_path` after `overrides` (an `output.path=` word wins, the
// last one if several); OutputConfig's default when the key is absent. ConfigError names the
// file for unreadable YAML or a non-scalar value.
std::string output_path_of(const std::string& config_path, const std::vector<std::string>& overrides);

}  // namespace crammer
