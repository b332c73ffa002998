// Runs a program (PATH lookup, no shell) and captures its output. Private to src/slurm.
#pragma once

#include <string>
#include <vector>

namespace crammer {

struct CommandOutput {
  int status = -1;
  std::string text;  // stdout and stderr together
};

// Throws Error when the program cannot be started (ENOENT says to check PATH).
CommandOutput run_command(const std::vector<std::string>& argv);

}  // namespace crammer
