// The command line of `crammer submit` (Boost.Program_options).
#pragma once

#include <string>
#include <vector>

namespace crammer {

// The whole `crammer submit` subcommand (options parsed with Boost.Program_options; --help):
//   crammer submit CONFIG.yaml [CONFIG2.yaml ...] [a.b=v ...] --nodes N --gpus-per-node G
//                  --time HH:MM:SS [--dry-run] ...
// Two or more configs make an array job. Returns the exit code.
int submit_main(const std::vector<std::string>& args);

}  // namespace crammer
