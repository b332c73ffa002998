// The untrusted part of a safetensors checkpoint, parsed without LibTorch: the JSON header of a
// .safetensors file and a sharded checkpoint's model.safetensors.index.json. Every check that
// depends only on those bytes lives here (and is fuzzed: tests/fuzz/fuzz_safetensors_header.cpp, fuzz_safetensors_index.cpp);
// safetensors.cpp maps files and turns entries into tensors.
//
// Format: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// then the data section; offsets are relative to the start of the data section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crammer {

struct HeaderEntry {
  std::string name;
  std::string dtype;       // as the file names it: "F32", "BF16", "I64", ...
  size_t element_bytes = 0;
  std::vector<int64_t> shape;
  uint64_t begin = 0;      // absolute byte offsets in the file, data section included
  uint64_t end = 0;
};

// Parses the header of the `size` bytes of file `path` at `bytes` and checks every entry
// against the data section: known dtype, sizes that fit, offsets in range and matching the
// shape, no overlaps, no duplicate names. ModelLoadError "safetensors file PATH: ..." otherwise.
std::vector<HeaderEntry> parse_safetensors_header(const std::string& path, const uint8_t* bytes, size_t size);

// Parses model.safetensors.index.json text: tensor names grouped by the shard file that holds
// them. ModelLoadError naming `path` when it is not an object with a non-empty weight_map of
// strings.
std::map<std::string, std::vector<std::string>> parse_safetensors_index(const std::string& path,
                                                                        const std::string& text);

// Whether crammer reads tensors of this dtype as weights (F32, F16, BF16).
bool float_dtype(const std::string& dtype);

}  // namespace crammer
