// The sweep config (config/loader.hpp) from YAML text: the first line, when it holds '=', is a
// command-line override and the rest the file. A config that loads must print and load again
// to the same YAML.
#include "crammer/config/loader.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  const size_t nl = text.find('\n');
  if (nl != std::string::npos && text.substr(0, nl).find('=') != std::string::npos) {
    overrides.push_back(text.substr(0, nl));
    text.erase(0, nl + 1);
  }
  crammer::fuzz::expect_only_crammer_errors("fuzz_config", [&] {
    const crammer::ExperimentConfig c = crammer::parse_config(text, "fuzz.yaml", overrides, {false});
    const std::string once = crammer::to_yaml(c);
    if (crammer::to_yaml(crammer::parse_config(once, "printed.yaml", {}, {false})) != once) std::abort();
  });
  return 0;
}
