// `crammer submit` without the rest of crammer: the submit library behind a main, so the Slurm
// tests can render and submit batch scripts with tests/slurm/mpi_probe standing in for the
// crammer binary (--crammer). Errors are reported the way crammer's main does (exit 2 / 1).
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>

#include "crammer/slurm/cli.hpp"
#include "crammer/slurm/options.hpp"
#include "crammer/slurm/render.hpp"
#include "crammer/slurm/submit.hpp"
#include "crammer/util/error.hpp"

int main(int argc, char** argv) {
  try {
    return crammer::submit_main(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const crammer::Error& e) {
    std::cerr << "submit_tool: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const boost::program_options::error& e) {
    std::cerr << "submit_tool: error: " << e.what() << "\n";
    return 2;
  }
}
