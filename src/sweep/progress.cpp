// Progress display of rank 0: a redrawn line on a terminal, spdlog lines elsewhere.
#include "crammer/sweep/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <utility>

#include <spdlog/spdlog.h>

#include "crammer/util/error.hpp"

namespace crammer {

ProgressOptions::Mode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressOptions::Mode::automatic;
  if (text == "bar") return ProgressOptions::Mode::bar;
  if (text == "log") return ProgressOptions::Mode::log;
  if (text == "off") return ProgressOptions::Mode::off;
  throw ConfigError("progress mode '" + text + "': expected auto, bar, log or off");
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  char buf[64];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm%02llds", s / 3600, (s / 60) % 60, s % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  }
  return buf;
}

Progress::Progress(ProgressOptions options, std::map<int32_t, int64_t> total_per_model)
    : options_(std::move(options)) {
  for (const auto& [model, n] : total_per_model) {
    models_[model].total = n;
    total_ += n;
  }
  using Mode = ProgressOptions::Mode;
  enabled_ = options_.mode != Mode::off;
  bar_ = options_.mode == Mode::bar ||
         (options_.mode == Mode::automatic && isatty(fileno(stderr)));
  start_ = Clock::now();
  last_draw_ = start_;
}

std::string Progress::model_name(int32_t index) const {
  if (index >= 0 && size_t(index) < options_.model_names.size()) return options_.model_names[index];
  return "m" + std::to_string(index);
}

void Progress::record(int32_t model_index, TaskStatus status, bool converged) {
  ++models_[model_index].finished;
  ++done_;
  if (status == TaskStatus::failed) ++failed_;
  if (converged && status == TaskStatus::done) ++converged_;
}

std::string Progress::status_line(double elapsed) const {
  double rate = elapsed > 0 ? double(done_) / elapsed : 0.0;
  double eta = rate > 0 ? double(total_ - done_) / rate : -1.0;
  double pct = total_ > 0 ? 100.0 * double(done_) / double(total_) : 100.0;
  char head[160];
  std::snprintf(head, sizeof(head), "%lld/%lld tasks (%.1f%%), %.1f tasks/s, ETA %s",
                static_cast<long long>(done_), static_cast<long long>(total_), pct, rate,
                done_ == total_ ? "0s" : format_duration(eta).c_str());
  std::string line = head;
  // How many reached the target accuracy: the number a cramming sweep is run for.
  if (done_ > 0) line += ", " + std::to_string(converged_) + " converged";
  if (failed_ > 0) line += ", " + std::to_string(failed_) + " failed";
  if (models_.size() > 1) {
    line += " |";
    for (const auto& [model, m] : models_) {
      line += " " + model_name(model) + " " + std::to_string(m.finished) + "/" +
              std::to_string(m.total);
    }
  }
  return line;
}

void Progress::update(bool force) {
  if (!enabled_) return;
  auto now = Clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  double interval = bar_ ? options_.bar_seconds : options_.log_seconds;
  if (!force && since < interval) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (bar_) {
    constexpr int kWidth = 24;
    int filled = total_ > 0 ? int(kWidth * done_ / total_) : kWidth;
    std::string bar(size_t(filled), '#');
    bar.resize(kWidth, '.');
    // \r + erase-to-end-of-line: one live line, redrawn in place.
    std::fprintf(stderr, "\r[%s] %s\033[K", bar.c_str(), status_line(elapsed).c_str());
    std::fflush(stderr);
    drew_bar_ = true;
  } else {
    spdlog::info("progress: {}", status_line(elapsed));
  }
}

void Progress::finish() {
  if (!enabled_) return;
  update(true);
  if (bar_ && drew_bar_) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }
}

}  // namespace crammer
