// Key paths of the YAML binder: "section.key", shared by its reading and writing sides.
#pragma once

#include <string>

namespace crammer {

inline std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

}  // namespace crammer
