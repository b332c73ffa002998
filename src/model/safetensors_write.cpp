// Safetensors checkpoints, writing side: one file atomically (temp + rename), or Hugging Face
// style shards with model.safetensors.index.json. Reading: safetensors.cpp.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crammer's safetensors writer assumes a little-endian host"
#endif

namespace crammer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "F32";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    default: return nullptr;
  }
}

}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Header entries and data both follow std::map order (sorted by name).
  std::vector<torch::Tensor> data;
  data.reserve(tensors.size());
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__")
      throw ModelLoadError("cannot write " + path + ": invalid tensor name '" + name + "'");
    if (!tensor.defined())
      throw ModelLoadError("cannot write " + path + ": tensor '" + name + "' is undefined");
    const char* dt = dtype_name(tensor.scalar_type());
    if (!dt)
      throw ModelLoadError("cannot write " + path + ": tensor '" + name + "' has dtype " +
                           std::string(c10::toString(tensor.scalar_type())) +
                           "; crammer writes only F32, F16 and BF16");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {
        {"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names or metadata that are not valid UTF-8
    throw ModelLoadError("cannot write " + path + ": " + e.what());
  }
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomic<ModelLoadError>(path, [&](const ByteSink& write) {
    uint8_t len[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    write(len, 8);
    write(text.data(), text.size());
    for (const auto& t : data) write(t.data_ptr(), t.numel() * t.element_size());
  });
}

void write_checkpoint(const std::string& dir, const std::map<std::string, torch::Tensor>& tensors,
                      int shards) {
  if (shards < 1)
    throw ModelLoadError("cannot write checkpoint " + dir + ": shards = " + std::to_string(shards) +
                         ", expected >= 1");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw ModelLoadError("cannot create directory " + dir + ": " + ec.message());
  const fs::path d(dir);
  const std::map<std::string, std::string> meta = {{"format", "pt"}};
  const size_t n_shards = std::max<size_t>(1, std::min<size_t>(shards, tensors.size()));

  if (n_shards == 1) {
    write_safetensors((d / "model.safetensors").string(), tensors, meta);
    // model.safetensors is preferred by the reader, so a stale index is harmless until removed.
    fs::remove(d / "model.safetensors.index.json", ec);
    return;
  }

  // Split in name order into n_shards groups of roughly equal bytes: a new shard starts once the
  // bytes written so far reach its share, or when the tensors left are just enough to give every
  // remaining shard one.
  uint64_t total = 0;
  for (const auto& kv : tensors) total += kv.second.numel() * kv.second.element_size();
  std::vector<std::map<std::string, torch::Tensor>> groups(1);
  uint64_t cum = 0;
  size_t i = 0;
  for (const auto& [name, t] : tensors) {
    const size_t opened = groups.size();
    const size_t left = tensors.size() - i;
    if (!groups.back().empty() && opened < n_shards &&
        (left <= n_shards - opened ||
         static_cast<long double>(cum) * n_shards >= static_cast<long double>(total) * opened))
      groups.emplace_back();
    groups.back().emplace(name, t);
    cum += t.numel() * t.element_size();
    ++i;
  }

  json weight_map = json::object();
  for (size_t s = 0; s < groups.size(); ++s) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", s + 1, groups.size());
    write_safetensors((d / file).string(), groups[s], meta);
    for (const auto& kv : groups[s]) weight_map[kv.first] = file;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const std::string text = index.dump(2) + "\n";
  write_file_atomic<ModelLoadError>((d / "model.safetensors.index.json").string(),
                   [&](const std::function<void(const void*, size_t)>& write) {
                     write(text.data(), text.size());
                   });
  // The reader prefers model.safetensors; drop an old one only now that the index is complete.
  fs::remove(d / "model.safetensors", ec);
}

}  // namespace crammer
