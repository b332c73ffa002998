// Resolve, render, sbatch (see crammer/slurm/submit.hpp).
#include "crammer/slurm/submit.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <regex>
#include <sstream>

#include "crammer/config/output_path.hpp"
#include "crammer/slurm/render.hpp"
#include "crammer/util/error.hpp"
#include "process.hpp"

namespace crammer {
namespace fs = std::filesystem;

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
    p = output_path_of(c, resolved.overrides);
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

}  // namespace crammer
