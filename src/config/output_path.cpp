// output.path of a config file (see crammer/config/output_path.hpp).
#include "crammer/config/output_path.hpp"

#include <yaml-cpp/yaml.h>

#include "crammer/config/experiment_config.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {

std::string output_path_of(const std::string& config_path, const std::vector<std::string>& overrides) {
  std::string value;
  bool overridden = false;
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq != std::string::npos && o.compare(0, eq, "output.path") == 0) {
      value = o.substr(eq + 1);
      overridden = true;
    }
  }
  if (overridden) return value;
  YAML::Node root;
  try {
    root = YAML::Load(read_file<ConfigError>(config_path, "config"));
  } catch (const YAML::Exception& e) {
    throw ConfigError("config " + config_path + ": invalid YAML: " + e.what());
  }
  try {
    if (root["output"] && root["output"]["path"]) return root["output"]["path"].as<std::string>();
  } catch (const YAML::Exception& e) {
    throw ConfigError("config " + config_path + ": output.path: expected a file path (" +
                      std::string(e.what()) + ")");
  }
  return OutputConfig{}.path;
}

}  // namespace crammer
