// reference_tokenize_tool TOKENIZER_DIR < strings.jsonl > ids.jsonl: for each JSON string line,
// crammer's {"ids": encode(text), "bos_ids": encode(text, add_bos), "decoded": decode(ids)}, so
// Python tests in the venv compare many texts with Hugging Face tokenizers in one process.
#include <exception>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "crammer/text/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " TOKENIZER_DIR < strings.jsonl > ids.jsonl\n";
    return 2;
  }
  try {
    auto tok = crammer::load_tokenizer(argv[1]);
    std::string line;
    while (std::getline(std::cin, line)) {
      const std::string text = nlohmann::json::parse(line).get<std::string>();
      nlohmann::json out;
      auto ids = tok->encode(text, false);
      out["ids"] = ids;
      out["bos_ids"] = tok->encode(text, true);
      out["decoded"] = tok->decode(ids);
      std::cout << out.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
