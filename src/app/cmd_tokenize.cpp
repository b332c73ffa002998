// `crammer tokenize`: stdin text -> token ids, space separated (or back with --decode).
#include <iostream>
#include <iterator>
#include <sstream>

#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "options.hpp"

namespace crammer {

int cmd_tokenize(const Args& args) {
  po::options_description desc("options");
  desc.add_options()("tokenizer", po::value<std::string>()->required(),
                     "directory with tokenizer.json, vocab.json + merges.txt, or tokenizer.model")(
      "add-bos", po::bool_switch(), "prepend the BOS token when the tokenizer family uses one")(
      "decode", po::bool_switch(), "read space-separated ids from stdin and print the text");
  po::variables_map vm;
  if (!parse_command_line("tokenize", "--tokenizer DIR < text", desc, {}, args, vm)) return 0;
  auto tok = load_tokenizer(vm["tokenizer"].as<std::string>());
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (vm["decode"].as<bool>()) {
    std::vector<int32_t> ids;
    std::istringstream in(input);
    for (long long id; in >> id;) {
      if (id < 0 || id >= tok->vocab_size())
        throw ConfigError("stdin: token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                          std::to_string(tok->vocab_size()) + ")");
      ids.push_back(static_cast<int32_t>(id));
    }
    if (!in.eof()) throw ConfigError("stdin: expected space-separated integer token ids");
    std::cout << tok->decode(ids);
    return 0;
  }
  auto ids = tok->encode(input, vm["add-bos"].as<bool>());
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
  return 0;
}

}  // namespace crammer
