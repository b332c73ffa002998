// Submitting a sweep to Slurm: resolve the options against the environment and the configs
// (read through the config layer), render the script, run `sbatch --parsable`. Not a scheduler
// client library: it shells out to sbatch.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "crammer/slurm/options.hpp"

namespace crammer {

// Fills the defaults that depend on the environment: absolute config paths, crammer binary
// (this executable), workdir (current directory), results path(s) from output.path of each
// config (an `output.path=` override wins). Throws ConfigError for unreadable configs.
SubmitOptions resolve_submit_options(const SubmitOptions& opts);

// Results file of each sweep of the job (one per array config), absolute or relative to workdir.
std::vector<std::string> results_paths(const SubmitOptions& resolved);

struct SubmitResult {
  std::string job_id;  // empty on a dry run
  std::string script;
  std::vector<std::string> results;
};

// Resolves, renders and (unless dry_run) runs `sbatch --parsable` on the script. Prints the
// script on a dry run, else "submitted job <id>" and the results path(s), to `out`.
// Throws Error with sbatch's own message when sbatch fails.
SubmitResult submit(const SubmitOptions& opts, bool dry_run, std::ostream& out);

}  // namespace crammer
