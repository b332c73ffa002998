// A sharded checkpoint's model.safetensors.index.json (model/safetensors_header.hpp) from
// arbitrary text. What it accepts names every tensor once, under a shard file name.
#include <cstdio>
#include <cstdlib>
#include <set>

#include "crammer/model/safetensors_header.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crammer::fuzz::expect_only_crammer_errors("fuzz_safetensors_index", [&] {
    const auto by_shard =
        crammer::parse_safetensors_index("index.json", std::string(reinterpret_cast<const char*>(data), size));
    std::set<std::string> names;
    size_t count = 0;
    for (const auto& [shard, tensors] : by_shard) {
      count += tensors.size();
      names.insert(tensors.begin(), tensors.end());
    }
    if (by_shard.empty() || names.size() != count) {
      std::fprintf(stderr, "fuzz_safetensors_index: accepted an empty weight map or a tensor twice\n");
      std::abort();
    }
  });
  return 0;
}
