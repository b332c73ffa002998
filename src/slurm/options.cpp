// Checks of `crammer submit`'s options (see crammer/slurm/options.hpp).
#include "crammer/slurm/options.hpp"

#include <regex>

#include "crammer/util/error.hpp"

namespace crammer {

namespace {

// The value of an `output.path=` override, if any (the last one wins, as in the config loader).
bool override_value(const std::vector<std::string>& overrides, const std::string& key, std::string* value) {
  bool found = false;
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq != std::string::npos && o.substr(0, eq) == key) {
      *value = o.substr(eq + 1);
      found = true;
    }
  }
  return found;
}

bool has_space(const std::string& s) { return s.find_first_of(" \t\n\r") != std::string::npos; }

void require_no_newline(const std::string& what, const std::string& value) {
  if (value.find_first_of("\n\r") != std::string::npos) {
    throw ConfigError(what + ": '" + value + "' contains a line break");
  }
}

// #SBATCH values are not shell-parsed: reject whitespace instead of guessing sbatch's quoting.
void require_sbatch_word(const std::string& what, const std::string& value) {
  if (has_space(value)) {
    throw ConfigError(what + ": '" + value + "' contains whitespace, which an #SBATCH line cannot carry");
  }
}

}  // namespace

std::vector<std::string> configs_of(const SubmitOptions& opts) {
  if (!opts.array_configs.empty()) return opts.array_configs;
  return {opts.config_path};
}

int64_t workers_per_node(const SubmitOptions& opts) {
  return opts.gpus_per_node > 0 ? opts.gpus_per_node : opts.ranks_per_node;
}

int64_t parse_slurm_time(const std::string& time) {
  static const std::regex hms(R"((\d+):(\d{2}):(\d{2}))");
  static const std::regex dhms(R"((\d+)-(\d{1,2}):(\d{2}):(\d{2}))");
  std::smatch m;
  int64_t days = 0, hours = 0, minutes = 0, seconds = 0;
  if (std::regex_match(time, m, dhms)) {
    days = std::stoll(m[1]);
    hours = std::stoll(m[2]);
    minutes = std::stoll(m[3]);
    seconds = std::stoll(m[4]);
    if (hours > 23) throw ConfigError("--time " + time + ": hours must be 0..23 in D-HH:MM:SS");
  } else if (std::regex_match(time, m, hms) && m[1].length() <= 6) {
    hours = std::stoll(m[1]);
    minutes = std::stoll(m[2]);
    seconds = std::stoll(m[3]);
  } else {
    throw ConfigError("--time '" + time + "': expected HH:MM:SS or D-HH:MM:SS (e.g. 24:00:00, 2-00:00:00)");
  }
  if (minutes > 59 || seconds > 59) {
    throw ConfigError("--time " + time + ": minutes and seconds must be 0..59");
  }
  int64_t total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
  if (total <= 0) throw ConfigError("--time " + time + ": the time limit must be positive");
  return total;
}

void validate_submit_options(const SubmitOptions& opts) {
  if (opts.config_path.empty() && opts.array_configs.empty()) {
    throw ConfigError("submit: no config file given (crammer submit CONFIG.yaml ...)");
  }
  if (!opts.config_path.empty() && !opts.array_configs.empty()) {
    throw ConfigError("submit: give either one config or an array of configs, not both (config " +
                      opts.config_path + ", array of " + std::to_string(opts.array_configs.size()) + ")");
  }
  for (const auto& c : configs_of(opts)) {
    if (c.empty()) throw ConfigError("submit: empty config path");
    require_no_newline("config", c);
  }
  for (const auto& o : opts.overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("override '" + o + "': expected a.b=value");
    }
    require_no_newline("override", o);
  }
  std::string path_override;
  if (opts.array_configs.size() > 1 && override_value(opts.overrides, "output.path", &path_override)) {
    throw ConfigError("override output.path=" + path_override + ": an array of " +
                      std::to_string(opts.array_configs.size()) +
                      " configs would all write one results file; set output.path in each config");
  }
  if (opts.nodes < 1) throw ConfigError("--nodes " + std::to_string(opts.nodes) + ": must be >= 1");
  if (opts.gpus_per_node < 0) {
    throw ConfigError("--gpus-per-node " + std::to_string(opts.gpus_per_node) + ": must be >= 0 (0 = CPU ranks)");
  }
  if (opts.gpus_per_node == 0 && opts.ranks_per_node < 1) {
    throw ConfigError("--ranks-per-node " + std::to_string(opts.ranks_per_node) +
                      ": must be >= 1 when --gpus-per-node is 0 (CPU worker ranks per node)");
  }
  if (opts.gpu_flag != "gpus-per-node" && opts.gpu_flag != "gres") {
    throw ConfigError("--gpu-flag '" + opts.gpu_flag + "': expected gpus-per-node or gres");
  }
  int64_t limit = parse_slurm_time(opts.time);
  if (opts.signal_seconds < 0 || opts.signal_seconds > 65535) {
    throw ConfigError("--signal-seconds " + std::to_string(opts.signal_seconds) + ": must be 0..65535");
  }
  if (opts.signal_seconds > 0 && opts.signal_seconds >= limit) {
    throw ConfigError("--signal-seconds " + std::to_string(opts.signal_seconds) + " >= --time " + opts.time + " (" +
                      std::to_string(limit) + " s): the stop signal would come before the sweep starts");
  }
  static const std::regex name_re(R"([A-Za-z0-9._+-]+)");
  if (!std::regex_match(opts.job_name, name_re)) {
    throw ConfigError("--job-name '" + opts.job_name + "': use letters, digits and . _ + - only");
  }
  require_sbatch_word("--partition", opts.partition);
  require_sbatch_word("--account", opts.account);
  require_sbatch_word("--log", opts.output_log);
  require_sbatch_word("--chdir", opts.workdir);
  require_no_newline("--crammer", opts.crammer_binary);
  for (const auto& line : opts.setup_lines) require_no_newline("--setup", line);
  for (const auto& a : opts.extra_sbatch_args) {
    require_no_newline("--sbatch-arg", a);
    if (a.empty() || a[0] != '-') {
      throw ConfigError("--sbatch-arg '" + a + "': expected an sbatch option such as --qos=high");
    }
  }
}

}  // namespace crammer
