// A checkpoint's config.json (model/hf_config.hpp) from arbitrary text.
#include "crammer/model/hf_config.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crammer::fuzz::write_file("config.json", data, size);
  crammer::fuzz::expect_only_crammer_errors("fuzz_hf_config",
                                            [&] { crammer::read_model_spec(crammer::fuzz::scratch_dir()); });
  return 0;
}
