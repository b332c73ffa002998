// spdlog set-up: one stderr sink, pattern with timestamp, rank and level.
#include "crammer/util/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "crammer/util/error.hpp"
#include "crammer/util/printable.hpp"

namespace crammer {
namespace {

// %* : the message with raw bytes escaped (log lines can quote names read from files).
class PrintableMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text = printable(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PrintableMessage>(); }
};

std::string pattern_for(int rank) {
  if (rank < 0) return "[%Y-%m-%d %H:%M:%S.%e] [%l] %*";
  return "[%Y-%m-%d %H:%M:%S.%e] [rank " + std::to_string(rank) + "] [%l] %*";
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
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PrintableMessage>('*').set_pattern(pattern_for(rank));
  spdlog::set_formatter(std::move(formatter));
  spdlog::flush_on(spdlog::level::info);
}


}  // namespace crammer
