// What `crammer submit` is asked for (nodes, GPUs, time limit, configs, ...) and its checks.
// The script: render.hpp; submitting it: submit.hpp; the command line: cli.hpp.
#pragma once

#include <cstdint>
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

// The configs of the job: the one config, or the array's.
std::vector<std::string> configs_of(const SubmitOptions& opts);
// Worker ranks per node: one per GPU, or --ranks-per-node CPU ranks.
int64_t workers_per_node(const SubmitOptions& opts);

}  // namespace crammer
