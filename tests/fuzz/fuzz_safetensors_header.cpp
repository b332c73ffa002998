// A .safetensors file's header (model/safetensors_header.hpp) from arbitrary bytes. What the
// parser accepts must be safe to map: every range inside the file, sized by its shape, disjoint.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crammer/model/safetensors_header.hpp"
#include "fuzz_support.hpp"

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_safetensors_header: accepted a header where %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crammer::fuzz::expect_only_crammer_errors("fuzz_safetensors_header", [&] {
    auto entries = crammer::parse_safetensors_header("fuzz.safetensors", data, size);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
    uint64_t previous_end = 8;
    for (const auto& e : entries) {
      require(e.begin <= e.end && e.end <= size, "a range is outside the file");
      uint64_t numel = 1;
      for (int64_t d : e.shape) numel *= static_cast<uint64_t>(d);
      require(numel * e.element_bytes == e.end - e.begin, "a range does not match its shape");
      require(e.begin == e.end || e.begin >= previous_end, "two ranges overlap or a range covers the header");
      if (e.end > e.begin) previous_end = e.end;
    }
  });
  return 0;
}
