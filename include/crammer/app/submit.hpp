// `crammer submit`: renders a Slurm batch script that runs `crammer run` under
// `srun --mpi=pmix` (rank 0 coordinator + one worker rank per GPU, or per CPU slot), with
// time-limit/preemption wiring (signal -> exit 75 -> `scontrol requeue` -> resume), and submits
// it with `sbatch --parsable`. Not a scheduler client library: it shells out to sbatch.
// docs/slurm.md describes the generated script; slurm/*.sbatch are rendered examples.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace crammer {

struct SubmitOptions {
  std::string config_path;                 // one sweep, or
  std::vector<std::string> array_configs;  // an array job: one sweep per SLURM_ARRAY_TASK_ID
  std::vector<std::string> overrides;      // a.b=v words passed to every `crammer run`

  int64_t nodes = 1;
  int64_t gpus_per_node = 0;   // 0: CPU ranks, ranks_per_node worker ranks per node
  int64_t ranks_per_node = 1;  // worker ranks per node when gpus_per_node == 0
  std::string gpu_flag = "gpus-per-node";  // how GPUs are asked for: gpus-per-node | gres
  std::string time = "01:00:00";           // HH:MM:SS or D-HH:MM:SS
  int64_t signal_seconds = 300;  // USR1 this long before the time limit; 0 = no --signal
  std::string partition;
  std::string account;
  std::string job_name = "crammer";
  std::string output_log;      // default: slurm-<job_name>-%j.out (arrays: -%A_%a.out)
  std::string crammer_binary;  // default (submit): this executable
  std::string workdir;         // --chdir; default (submit): the current directory
  std::vector<std::string> setup_lines;        // shell lines run before srun (module load ...)
  std::vector<std::string> extra_sbatch_args;  // each becomes one `#SBATCH <arg>` line
  std::string results_path;  // default (submit): output.path of the config, after overrides
};

// Checks the options; throws ConfigError naming the option and what was expected.
void validate_submit_options(const SubmitOptions& opts);

// "HH:MM:SS" or "D-HH:MM:SS" -> seconds; throws ConfigError naming --time.
int64_t parse_slurm_time(const std::string& time);

// The batch script for `opts`, exactly as given (paths are not made absolute; see
// resolve_submit_options). Validates first.
std::string render_sbatch(const SubmitOptions& opts);

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

// The whole `crammer submit` subcommand (options parsed with Boost.Program_options; --help):
//   crammer submit CONFIG.yaml [CONFIG2.yaml ...] [a.b=v ...] --nodes N --gpus-per-node G
//                  --time HH:MM:SS [--dry-run] ...
// Two or more configs make an array job. Returns the exit code.
int submit_main(const std::vector<std::string>& args);

}  // namespace crammer
