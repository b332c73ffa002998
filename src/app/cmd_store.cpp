// `crammer status` and `crammer export`: read-only views of a results file (also while a
// sweep writes it).
#include <iostream>

#include "crammer/store/export.hpp"
#include "crammer/store/status.hpp"
#include "crammer/util/printable.hpp"
#include "options.hpp"

namespace crammer {

int cmd_status(const Args& args) {
  po::options_description desc("options");
  po::options_description hidden;
  hidden.add_options()("results", po::value<std::string>()->required(), "results file");
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map vm;
  if (!parse_command_line("status", "RESULTS.h5", desc, pos, args, vm, hidden)) return 0;
  std::cout << printable(status_summary(vm["results"].as<std::string>()).text());
  return 0;
}

int cmd_export(const Args& args) {
  po::options_description desc("options");
  desc.add_options()("table", po::value<std::string>()->default_value("results"),
                     "table to print as CSV: results | models | samples | curves | memory | mem_attention");
  po::options_description hidden;
  hidden.add_options()("results", po::value<std::string>()->required(), "results file");
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map vm;
  if (!parse_command_line("export", "RESULTS.h5 [--table results]", desc, pos, args, vm, hidden)) return 0;
  const std::string note = write_csv(vm["results"].as<std::string>(), std::cout, vm["table"].as<std::string>());
  if (!note.empty()) std::cerr << "crammer export: note: " << printable(note) << "\n";
  return 0;
}

}  // namespace crammer
