// The `crammer` subcommands (DESIGN §6). Each takes its own arguments (without the subcommand
// word) and returns the process exit code; errors are thrown as crammer::Error and reported
// once by app_main.
#pragma once

#include <string>
#include <vector>

namespace crammer {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_plan(const Args& args);
int cmd_status(const Args& args);
int cmd_export(const Args& args);
int cmd_decode(const Args& args);
int cmd_make_model(const Args& args);
int cmd_tokenize(const Args& args);
int cmd_submit(const Args& args);
int cmd_pretrain(const Args& args);

// crammer version, git commit, and the LibTorch / Open MPI / HDF5 versions it was built with.
std::string version_text();

// Entry point: dispatch, --help, --version, one place that reports errors (exit 2 for bad
// input, 1 otherwise).
int app_main(int argc, char** argv);

}  // namespace crammer
