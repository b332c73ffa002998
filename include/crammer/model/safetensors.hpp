// Safetensors checkpoints: memory-mapped reader (single file or sharded with
// model.safetensors.index.json) and writer. F32, F16, BF16. Strict bounds checks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace crammer {

struct TensorInfo {
  std::string name;
  torch::Dtype dtype;
  std::vector<int64_t> shape;
  std::string file;  // the .safetensors file that holds it
  std::string st_dtype;  // dtype as the file names it ("F32", "BF16", "I64", ...)
};

// All tensors of a checkpoint directory. Tensors returned by get() alias the mapped file
// (zero-copy, copy-on-write private mapping: in-place ops never touch the file) and keep the
// mapping alive themselves, so they stay valid after the Checkpoint is gone. Every call to
// get(name) returns a view of the same bytes: clone before modifying in place.
// Non-float tensors (I64, BOOL, ...) are listed by names()/info() but get() refuses them.
class Checkpoint {
 public:
  // Opens DIR/model.safetensors (preferred) or DIR/model.safetensors.index.json + shards. DIR
  // may also be a .safetensors file or an index .json file. A directory with only a pickle
  // checkpoint (pytorch_model.bin, *.bin, *.pt) is refused with a message saying how to convert.
  static Checkpoint open(const std::string& dir);
  // Opens one .safetensors file.
  static Checkpoint open_file(const std::string& path);

  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  torch::Tensor get(const std::string& name) const;  // throws ModelLoadError naming file + tensor

  Checkpoint();
  ~Checkpoint();
  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes tensors (any device/layout; f32/f16/bf16) to one file atomically (temp + rename),
// names sorted, 8-byte aligned data.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes DIR/model.safetensors, or with shards > 1 DIR/model-0000i-of-0000n.safetensors plus
// model.safetensors.index.json, as Hugging Face save_pretrained does (shards of roughly equal
// bytes, in name order; at most one shard per tensor). Creates DIR; every file is written to a
// temp name and renamed. Errors are ModelLoadError naming the file.
void write_checkpoint(const std::string& dir, const std::map<std::string, torch::Tensor>& tensors,
                      int shards = 1);

}  // namespace crammer
