// Boost.Program_options plumbing shared by the subcommands: --help with defaults shown,
// positional arguments, and "CONFIG a.b=v ..." splitting.
#pragma once

#include <iostream>
#include <string>

#include <boost/program_options.hpp>

#include "crammer/app/commands.hpp"

namespace crammer {
namespace po = boost::program_options;

// Parses ARGS; on --help prints "usage: crammer COMMAND USAGE" and DESC, and returns false.
inline bool parse_command_line(const std::string& command, const std::string& usage, po::options_description& desc,
                               const po::positional_options_description& positional, const Args& args,
                               po::variables_map& vm, const po::options_description& hidden = {}) {
  desc.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(desc).add(hidden);
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: crammer " << command << " " << usage << "\n\n" << desc << "\n";
    return false;
  }
  try {
    po::notify(vm);
  } catch (const po::required_option& e) {
    // A positional argument is a hidden option: name it as the usage does, not as "--results".
    std::string name = e.get_option_name();
    name.erase(0, name.find_first_not_of('-'));
    if (hidden.find_nothrow(name, false))
      throw po::error("missing argument (usage: crammer " + command + " " + usage + ")");
    throw;
  }
  return true;
}

}  // namespace crammer
