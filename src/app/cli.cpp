// Subcommand dispatch, --help / --version, and the single place where errors are reported.
#include <cstdio>
#include <iostream>
#include <map>

#include <boost/program_options/errors.hpp>
#include <hdf5.h>
#include <torch/version.h>

#include "crammer/app/commands.hpp"
#include "crammer/sweep/mpi_session.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/log.hpp"
#include "crammer/util/printable.hpp"
#include "crammer/version.hpp"

namespace crammer {
namespace {

struct Command {
  int (*fn)(const Args&);
  const char* summary;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"run", {cmd_run, "run a sweep: crammer run CONFIG.yaml [a.b=v ...] (alone, under mpirun or srun)"}},
      {"plan", {cmd_plan, "dry run: task counts and cost estimate; --print-config prints the resolved YAML"}},
      {"status", {cmd_status, "progress of a finished or running sweep: crammer status RESULTS.h5"}},
      {"export", {cmd_export, "results as CSV on stdout: crammer export RESULTS.h5 [--table results]"}},
      {"decode", {cmd_decode, "greedy text from a sweep's stored [mem] vectors beside the crammed text: crammer decode RESULTS.h5"}},
      {"make-model", {cmd_make_model, "write a random Hugging Face-format checkpoint of a model family (make-model --help lists them)"}},
      {"tokenize", {cmd_tokenize, "stdin text -> token ids: crammer tokenize --tokenizer DIR"}},
      {"pretrain", {cmd_pretrain, "train a small LM from text (the demo model): crammer pretrain RECIPE.yaml"}},
      {"submit", {cmd_submit, "submit a sweep to Slurm: crammer submit CONFIG --nodes N --gpus-per-node G --time T"}},
  };
  return table;
}

void print_help(std::ostream& out) {
  out << "crammer " << CRAMMER_VERSION << " - cram text into [mem] vectors of frozen language models, at scale\n\n"
      << "usage: crammer <command> [options]    (crammer <command> --help for its options)\n\ncommands:\n";
  for (const auto& [name, c] : commands()) {
    std::string pad(std::max<int>(1, 12 - static_cast<int>(name.size())), ' ');
    out << "  " << name << pad << c.summary << "\n";
  }
  out << "\n  --version   versions of crammer and the libraries it was built with\n"
      << "  --help      this text\n\nexit codes: 0 done, 1 failure, 2 bad input (config, files, options), "
      << "75 stopped by a signal (rerun to resume)\n";
}

}  // namespace

std::string version_text() {
  const std::string mpi = mpi_library_version();
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  std::string out = "crammer " CRAMMER_VERSION " (git " CRAMMER_GIT_COMMIT ")\n";
  out += "LibTorch " TORCH_VERSION "\n";
  out += "MPI " + mpi + "\n";  // key "mpi": the results file's version_mpi
  out += "HDF5 " + std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel) + "\n";
  return out;
}

int app_main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << version_text();
    return 0;
  }
  auto it = commands().find(args[0]);
  if (it == commands().end()) {
    std::cerr << "crammer: error: unknown command '" << args[0] << "' (crammer --help lists them)\n";
    return 2;
  }
  try {
    init_logging("info");
    return it->second.fn(Args(args.begin() + 1, args.end()));
  } catch (const Error& e) {
    std::cerr << "crammer " << args[0] << ": error: " << printable(e.what()) << "\n";
    return e.exit_code();
  } catch (const boost::program_options::error& e) {
    std::cerr << "crammer " << args[0] << ": error: " << printable(e.what()) << " (crammer " << args[0] << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "crammer " << args[0] << ": error: " << printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace crammer
