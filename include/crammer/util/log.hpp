// The one logger: spdlog's default logger, writing to stderr with timestamps, level and rank.
// Use spdlog::info(...) / spdlog::debug(...) everywhere after init_logging().
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace crammer {

// level: trace|debug|info|warn|error|off. rank < 0 means "not distributed" (no rank prefix).
void init_logging(const std::string& level = "info", int rank = -1);

}  // namespace crammer
