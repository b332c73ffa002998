// spdlog set-up: one stderr sink, pattern with timestamp, rank and level.
#include "crammer/util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "crammer/util/error.hpp"

namespace crammer {
namespace {
std::string pattern_for(int rank) {
  if (rank < 0) return "[%Y-%m-%d %H:%M:%S.%e] [%l] %v";
  return "[%Y-%m-%d %H:%M:%S.%e] [rank " + std::to_string(rank) + "] [%l] %v";
}
}  // namespace

void init_logging(const std::string& level, int rank) {
  auto logger = spdlog::get("crammer");
  if (!logger) {
    logger = spdlog::stderr_color_mt("crammer");
    spdlog::set_default_logger(logger);
  }
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw ConfigError("log level '" + level + "': expected trace, debug, info, warn, error or off");
  }
  spdlog::set_level(lvl);
  spdlog::set_pattern(pattern_for(rank));
  spdlog::flush_on(spdlog::level::info);
}


}  // namespace crammer
