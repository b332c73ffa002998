// `crammer plan`: a dry run. Loads and validates the config, builds the task list and prints
// counts, a cost estimate and what `crammer run` would do with an existing results file; --print-config prints the resolved config as YAML instead (which
// `crammer plan` accepts again unchanged).
#include <iostream>

#include "crammer/config/loader.hpp"
#include "crammer/plan/planner.hpp"
#include "crammer/plan/preflight.hpp"
#include "crammer/plan/summary.hpp"
#include "crammer/slurm/cli.hpp"
#include "crammer/store/outlook.hpp"
#include "devices.hpp"
#include "options.hpp"

namespace crammer {

int cmd_plan(const Args& args) {
  po::options_description desc("options");
  desc.add_options()("print-config", po::bool_switch(), "print the resolved config as YAML and stop")(
      "json", po::bool_switch(), "print the whole plan (every task and sample) as JSON");
  po::options_description hidden;
  hidden.add_options()("config", po::value<std::string>()->required(), "config file")(
      "overrides", po::value<std::vector<std::string>>()->multitoken(), "a.b=v overrides");
  po::positional_options_description pos;
  pos.add("config", 1).add("overrides", -1);
  po::variables_map vm;
  if (!parse_command_line("plan", "CONFIG.yaml [a.b=v ...] [--print-config]", desc, pos, args, vm, hidden))
    return 0;
  std::vector<std::string> overrides;
  if (vm.count("overrides")) overrides = vm["overrides"].as<std::vector<std::string>>();
  ExperimentConfig config = load_config(vm["config"].as<std::string>(), overrides);
  if (vm["print-config"].as<bool>()) {
    std::cout << to_yaml(config);
    return 0;
  }
  const std::string device_note = plan_device_note(config.runtime.device);
  preflight_models(config);
  Plan plan = make_plan(config);
  preflight_init_mem(config, plan);
  if (vm["json"].as<bool>()) {
    std::cout << plan_to_json(plan) << "\n";
    return 0;
  }
  std::cout << plan_summary(config, plan);
  if (!device_note.empty()) std::cout << "\nnote: " << device_note << "\n";
  for (const auto& note : plan.notes) std::cout << "\nnote: " << note << "\n";
  std::vector<std::string> keys;
  for (const auto& t : plan.tasks) keys.push_back(t.key);
  std::cout << "\n" << resume_outlook(config.output.path, config_fingerprint(config), keys);
  return 0;
}

int cmd_submit(const Args& args) { return submit_main(args); }

}  // namespace crammer
