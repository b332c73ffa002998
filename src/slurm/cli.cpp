// `crammer submit`'s command line (see crammer/slurm/cli.hpp).
#include "crammer/slurm/cli.hpp"

#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "crammer/slurm/submit.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

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
