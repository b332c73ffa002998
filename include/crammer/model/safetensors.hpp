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
};

// All tensors of a checkpoint directory. Tensors returned by get() alias the mapped file
// (zero-copy) and stay valid while the Checkpoint lives; copy or convert before it dies.
class Checkpoint {
 public:
  // Opens DIR/model.safetensors or DIR/model.safetensors.index.json + shards. A directory with
  // only pytorch_model.bin is refused with a message saying how to convert it.
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

// Writes tensors (contiguous CPU, f32/f16/bf16) to one file, names sorted, 8-byte aligned data.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes DIR/model.safetensors, or with shards > 1 DIR/model-0000i-of-0000n.safetensors plus
// model.safetensors.index.json, as Hugging Face save_pretrained does.
void write_checkpoint(const std::string& dir, const std::map<std::string, torch::Tensor>& tensors,
                      int shards = 1);

}  // namespace crammer
