// `crammer submit`: options -> Slurm batch script -> `sbatch --parsable` (include/crammer/app/
// submit.hpp). The script's logic (signal forwarding, exit 75 -> requeue) is documented in
// docs/slurm.md; slurm/*.sbatch are golden renders checked by tests/slurm.
#include "crammer/app/submit.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>
#include <yaml-cpp/yaml.h>

#include "crammer/util/error.hpp"

extern char** environ;

namespace crammer {
namespace fs = std::filesystem;

namespace {

// Single-quoted for bash: safe for any byte but NUL.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
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

std::vector<std::string> configs_of(const SubmitOptions& opts) {
  if (!opts.array_configs.empty()) return opts.array_configs;
  return {opts.config_path};
}

int64_t workers_per_node(const SubmitOptions& opts) {
  return opts.gpus_per_node > 0 ? opts.gpus_per_node : opts.ranks_per_node;
}

std::string default_log(const SubmitOptions& opts) {
  return "slurm-" + opts.job_name + (opts.array_configs.empty() ? "-%j.out" : "-%A_%a.out");
}

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

// output.path of one config file; the default of OutputConfig when the key is absent.
std::string output_path_of(const std::string& config_path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(config_path);
  } catch (const YAML::BadFile&) {
    throw ConfigError("config " + config_path + ": cannot be read (missing file or no permission)");
  } catch (const YAML::Exception& e) {
    throw ConfigError("config " + config_path + ": invalid YAML: " + e.what());
  }
  try {
    if (root["output"] && root["output"]["path"]) return root["output"]["path"].as<std::string>();
  } catch (const YAML::Exception& e) {
    throw ConfigError("config " + config_path + ": output.path: expected a file path (" + std::string(e.what()) + ")");
  }
  return "results/quickstart.h5";  // OutputConfig::path
}

struct CommandOutput {
  int status = -1;
  std::string text;  // stdout and stderr together
};

// Runs argv (PATH lookup) and captures its stdout+stderr. No shell is involved.
CommandOutput run_command(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  CommandOutput out;
  if (err != 0) {
    close(fds[0]);
    throw Error("cannot run " + argv[0] + ": " + std::strerror(err) +
                (err == ENOENT ? " (is Slurm installed and on PATH?)" : ""));
  }
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.text.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  out.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return out;
}

}  // namespace

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

std::string render_sbatch(const SubmitOptions& opts) {
  validate_submit_options(opts);
  const int64_t workers = workers_per_node(opts);
  const int64_t ntasks = opts.nodes * workers + 1;  // + rank 0, the coordinator
  const bool gpu = opts.gpus_per_node > 0;
  const auto configs = configs_of(opts);
  const std::string crammer = opts.crammer_binary.empty() ? "crammer" : opts.crammer_binary;

  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# crammer sweep, rendered by `crammer submit` (docs/slurm.md explains every line).\n"
    << "# Ranks: " << opts.nodes << " node(s) x " << workers << (gpu ? " GPU worker(s)" : " CPU worker(s)")
    << " + 1 coordinator (rank 0, light, on the first node) = " << ntasks << " srun tasks.\n"
    << "# Stop/resume: USR1 (time limit, preemption) -> crammer stores finished tasks and exits 75\n"
    << "# -> this job requeues itself -> the next start skips the tasks already in the results file.\n";
  auto sb = [&s](const std::string& line) { s << "#SBATCH " << line << "\n"; };
  sb("--job-name=" + opts.job_name);
  sb("--nodes=" + std::to_string(opts.nodes));
  // Every node gets room for workers + 1 tasks; srun starts nodes x workers + 1 of them, which
  // the srun line's block,NoPack layout places as workers + 1 on the first node and workers
  // elsewhere: what map_device (dist/device_map.hpp) needs for one worker per GPU.
  sb("--ntasks-per-node=" + std::to_string(workers + 1));
  if (gpu) {
    if (opts.gpu_flag == "gres") {
      sb("--gres=gpu:" + std::to_string(opts.gpus_per_node));
    } else {
      sb("--gpus-per-node=" + std::to_string(opts.gpus_per_node));
    }
  }
  sb("--time=" + opts.time);
  if (!opts.partition.empty()) sb("--partition=" + opts.partition);
  if (!opts.account.empty()) sb("--account=" + opts.account);
  if (!opts.workdir.empty()) sb("--chdir=" + opts.workdir);
  sb("--output=" + (opts.output_log.empty() ? default_log(opts) : opts.output_log));
  sb("--open-mode=append");  // a requeued job appends to the same log
  sb("--requeue");
  if (opts.signal_seconds > 0) sb("--signal=B:USR1@" + std::to_string(opts.signal_seconds));
  if (!opts.array_configs.empty()) sb("--array=0-" + std::to_string(configs.size() - 1));
  for (const auto& a : opts.extra_sbatch_args) sb(a);

  s << "\nNTASKS=" << ntasks << "  # " << opts.nodes << " x " << workers << " workers + 1 coordinator\n";
  s << "CRAMMER=" << sh_quote(crammer) << "\n";
  if (opts.array_configs.empty()) {
    s << "CONFIG=" << sh_quote(configs[0]) << "\n";
  } else {
    s << "CONFIGS=(\n";
    for (const auto& c : configs) s << "  " << sh_quote(c) << "\n";
    s << ")\n"
      << "if [ -z \"${SLURM_ARRAY_TASK_ID:-}\" ] || [ \"$SLURM_ARRAY_TASK_ID\" -ge ${#CONFIGS[@]} ]; then\n"
      << "  echo \"crammer-submit: array task '${SLURM_ARRAY_TASK_ID:-}' has no config (0..$((${#CONFIGS[@]} - 1)))\" >&2\n"
      << "  exit 2\n"
      << "fi\n"
      << "CONFIG=${CONFIGS[$SLURM_ARRAY_TASK_ID]}\n";
  }
  s << "OVERRIDES=(";
  for (const auto& o : opts.overrides) s << " " << sh_quote(o);
  s << " )\n";
  if (!opts.setup_lines.empty()) {
    s << "\n";
    for (const auto& line : opts.setup_lines) s << line << "\n";
  }
  s << R"SH(
echo "crammer-submit: job $SLURM_JOB_ID restart ${SLURM_RESTART_COUNT:-0} on $SLURM_JOB_NODELIST at $(date '+%F %T'): $CONFIG"

# Slurm signals only this shell (--signal=B:..., scancel --batch): pass the signal on to the
# srun step, whose tasks (crammer) stop handing out work, store what finished and exit 75.
stop=""
step=""
forward() {
  stop=$1
  echo "crammer-submit: SIG$1 at $(date '+%F %T'): asking crammer to store its results and stop" >&2
  if [ -n "$step" ]; then kill -s "$1" "$step" 2>/dev/null; fi
}
trap 'forward USR1' USR1
trap 'forward USR2' USR2
trap 'forward TERM' TERM

# --kill-on-bad-exit=0: a worker that exits first must not take the coordinator down before it
# has stored the results.
# --distribution=block,NoPack: the tasks spread evenly, the coordinator and a node's workers on
# the first node and a node's workers on each other one, also where the site packs nodes by
# default (CR_Pack_Nodes would give the second node a worker too many, the last one too few).
# The allocation's tasks-per-node would make srun warn about (and ignore) the uneven layout.
unset SLURM_NTASKS_PER_NODE
if [ -z "$stop" ]; then
  srun --mpi=pmix --ntasks="$NTASKS" --distribution=block,NoPack --kill-on-bad-exit=0 "$CRAMMER" run "$CONFIG" "${OVERRIDES[@]}" &
  step=$!
  if [ -n "$stop" ]; then kill -s "$stop" "$step" 2>/dev/null; fi  # arrived while starting
  # A trapped signal interrupts `wait`; wait again until srun has really ended.
  while kill -0 "$step" 2>/dev/null; do wait "$step"; done
  wait "$step"
  rc=$?
else
  rc=75  # told to stop before the sweep started: nothing to store, requeue
fi
echo "crammer-submit: crammer exited with $rc at $(date '+%F %T')"
if [ "$rc" -eq 75 ]; then
  # 75: stopped by a signal with every finished task stored; the requeued job resumes.
  if scontrol requeue "$SLURM_JOB_ID"; then
    echo "crammer-submit: requeued job $SLURM_JOB_ID; its next start resumes the sweep"
  else
    echo "crammer-submit: 'scontrol requeue $SLURM_JOB_ID' failed; submit this script again to resume" >&2
  fi
fi
exit "$rc"
)SH";
  return s.str();
}

SubmitOptions resolve_submit_options(const SubmitOptions& opts) {
  SubmitOptions r = opts;
  auto absolute = [](const std::string& p) { return fs::absolute(fs::path(p)).lexically_normal().string(); };
  if (!r.config_path.empty()) r.config_path = absolute(r.config_path);
  for (auto& c : r.array_configs) c = absolute(c);
  for (const auto& c : configs_of(r)) {
    std::error_code ec;
    if (!fs::is_regular_file(c, ec)) throw ConfigError("config " + c + ": no such file");
  }
  if (r.workdir.empty()) {
    r.workdir = fs::current_path().string();
  } else {
    r.workdir = absolute(r.workdir);
  }
  if (r.crammer_binary.empty()) {
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot find the crammer executable (/proc/self/exe); pass --crammer PATH");
    r.crammer_binary = self.string();
  } else if (r.crammer_binary.find('/') != std::string::npos) {
    r.crammer_binary = absolute(r.crammer_binary);
  }
  if (r.results_path.empty()) {
    auto paths = results_paths(r);
    if (paths.size() == 1) r.results_path = paths[0];
  }
  return r;
}

std::vector<std::string> results_paths(const SubmitOptions& resolved) {
  auto configs = configs_of(resolved);
  if (configs.size() == 1 && !resolved.results_path.empty()) return {resolved.results_path};
  std::vector<std::string> out;
  std::map<std::string, std::string> seen;  // results path -> config that writes it
  for (const auto& c : configs) {
    std::string p;
    if (!override_value(resolved.overrides, "output.path", &p)) p = output_path_of(c);
    fs::path path(p);
    if (path.is_relative() && !resolved.workdir.empty()) path = fs::path(resolved.workdir) / path;
    std::string result = path.lexically_normal().string();
    auto [it, fresh] = seen.emplace(result, c);
    if (!fresh) {
      throw ConfigError("configs " + it->second + " and " + c + " both write output.path " + result +
                        "; an array job needs one results file per config");
    }
    out.push_back(result);
  }
  return out;
}

SubmitResult submit(const SubmitOptions& opts, bool dry_run, std::ostream& out) {
  SubmitResult result;
  SubmitOptions r = resolve_submit_options(opts);
  result.results = results_paths(r);
  result.script = render_sbatch(r);
  if (dry_run) {
    out << result.script;
    return result;
  }
  // sbatch copies the script at submission: a temporary file is enough.
  std::string tmpl = (fs::temp_directory_path() / "crammer-submit-XXXXXX.sbatch").string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkstemps(name.data(), 7);
  if (fd < 0) throw Error("cannot create a temporary batch script " + tmpl + ": " + std::strerror(errno));
  std::string script_file(name.data());
  {
    std::ofstream f(script_file);
    f << result.script;
    if (!f) {
      close(fd);
      unlink(script_file.c_str());
      throw Error("cannot write the batch script " + script_file);
    }
  }
  close(fd);
  CommandOutput sb = run_command({"sbatch", "--parsable", script_file});
  unlink(script_file.c_str());
  if (sb.status != 0) {
    throw Error("sbatch failed (exit " + std::to_string(sb.status) + "): " + sb.text);
  }
  // --parsable prints "<id>" or "<id>;<cluster>" as the last line; warnings may come before.
  std::istringstream lines(sb.text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (!line.empty()) last = line;
  }
  static const std::regex id_re(R"((\d+)(;\S+)?)");
  std::smatch m;
  if (!std::regex_match(last, m, id_re)) {
    throw Error("sbatch --parsable printed no job id: " + sb.text);
  }
  result.job_id = m[1];
  out << "submitted batch job " << result.job_id << "\n";
  for (const auto& p : result.results) out << "results: " << p << "\n";
  out << "progress: crammer status " << result.results.front() << "\n"
      << "queue: squeue -j " << result.job_id << "\n";
  return result;
}

int submit_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  SubmitOptions o;
  bool dry_run = false;
  std::string script_out;
  std::vector<std::string> words;
  po::options_description desc(
      "usage: crammer submit CONFIG.yaml [CONFIG2.yaml ...] [a.b=v ...] [options]\n"
      "Renders a Slurm batch script that runs `crammer run` under srun --mpi=pmix and submits it\n"
      "with sbatch. Two or more configs make an array job (one sweep per array task). a.b=v words\n"
      "are overrides passed to every run. See docs/slurm.md.\n\noptions");
  desc.add_options()
      ("help,h", "this text")
      ("nodes", po::value(&o.nodes)->default_value(o.nodes), "nodes")
      ("gpus-per-node", po::value(&o.gpus_per_node)->default_value(o.gpus_per_node),
       "GPUs per node, one worker rank each; 0 = CPU worker ranks (--ranks-per-node)")
      ("ranks-per-node", po::value(&o.ranks_per_node)->default_value(o.ranks_per_node),
       "CPU worker ranks per node when --gpus-per-node is 0")
      ("gpu-flag", po::value(&o.gpu_flag)->default_value(o.gpu_flag),
       "ask for GPUs with --gpus-per-node=G or --gres=gpu:G")
      ("time", po::value(&o.time)->default_value(o.time), "time limit, HH:MM:SS or D-HH:MM:SS")
      ("signal-seconds", po::value(&o.signal_seconds)->default_value(o.signal_seconds),
       "send USR1 this many seconds before the time limit (stop, store, requeue); 0 = off")
      ("partition", po::value(&o.partition), "Slurm partition")
      ("account", po::value(&o.account), "Slurm account")
      ("job-name", po::value(&o.job_name)->default_value(o.job_name), "job name")
      ("log", po::value(&o.output_log), "job log file (default slurm-<job-name>-%j.out in --chdir)")
      ("chdir", po::value(&o.workdir), "working directory of the job (default: the current one)")
      ("crammer", po::value(&o.crammer_binary), "crammer executable on the nodes (default: this one)")
      ("setup", po::value(&o.setup_lines)->composing(), "shell line run before srun, e.g. 'module load cuda' (repeatable)")
      ("sbatch-arg", po::value(&o.extra_sbatch_args)->composing(), "extra #SBATCH option, e.g. --qos=high (repeatable)")
      ("results", po::value(&o.results_path), "results file to report (default: output.path of the config)")
      ("script-out", po::value(&script_out), "also write the batch script to this file")
      ("dry-run", po::bool_switch(&dry_run), "print the batch script, submit nothing");
  po::options_description hidden;
  hidden.add_options()("words", po::value(&words)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("words", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);
  std::vector<std::string> configs;
  for (const auto& w : words) {
    (w.find('=') != std::string::npos ? o.overrides : configs).push_back(w);
  }
  if (configs.size() == 1) {
    o.config_path = configs[0];
  } else {
    o.array_configs = configs;
  }
  SubmitResult r = submit(o, dry_run, std::cout);
  if (!script_out.empty()) {
    std::ofstream f(script_out);
    f << r.script;
    if (!f) throw Error("cannot write --script-out " + script_out);
  }
  return 0;
}

}  // namespace crammer
