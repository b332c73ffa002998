// Safetensors checkpoints, reading side: a memory-mapped, zero-copy reader (single file or
// Hugging Face sharded index). The header and index checks: safetensors_header.cpp. Writing:
// safetensors_write.cpp. Not for pickle checkpoints (pytorch_model.bin): those are refused with a
// conversion hint.
#include "crammer/model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "crammer/model/safetensors_header.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crammer's safetensors reader assumes a little-endian host"
#endif

namespace crammer {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw ModelLoadError("safetensors file " + file + ": " + what);
}

torch::Dtype torch_dtype(const std::string& st_dtype) {
  static const std::map<std::string, torch::Dtype> table = {
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
      {"BOOL", torch::kBool},
  };
  return table.at(st_dtype);  // parse_safetensors_header admits only these
}

// A read-only view of a whole file. Tensors from get() hold a shared_ptr to it, so the
// mapping outlives the Checkpoint that made it.
struct Mapping {
  std::string path;
  uint8_t* data = nullptr;
  size_t size = 0;

  explicit Mapping(std::string file) : path(std::move(file)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(path, "not a regular file");
    }
    size = static_cast<size_t>(st.st_size);
    if (size == 0) {  // nothing to map; the header check says what is wrong
      ::close(fd);
      return;
    }
    // MAP_PRIVATE + PROT_WRITE: the file itself is never written (opened O_RDONLY), but an
    // in-place op on a returned tensor copies the page instead of crashing with SIGSEGV.
    // MAP_NORESERVE keeps a huge checkpoint from counting against the commit limit; where the
    // kernel still refuses (strict overcommit), fall back to a plain read-only mapping.
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail(path, std::string("mmap failed: ") + std::strerror(err));
    data = static_cast<uint8_t*>(p);
  }
  ~Mapping() {
    if (data) ::munmap(data, size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

struct Entry {
  TensorInfo info;
  size_t element_bytes = 0;
  size_t begin = 0;  // absolute byte offsets in the mapping
  size_t end = 0;
  std::shared_ptr<Mapping> map;
};

std::vector<Entry> parse_file(const std::shared_ptr<Mapping>& map) {
  std::vector<Entry> out;
  for (auto& h : parse_safetensors_header(map->path, map->data, map->size)) {
    Entry e;
    e.info.name = std::move(h.name);
    e.info.dtype = torch_dtype(h.dtype);
    e.info.shape = std::move(h.shape);
    e.info.file = map->path;
    e.info.st_dtype = std::move(h.dtype);
    e.element_bytes = h.element_bytes;
    e.begin = static_cast<size_t>(h.begin);
    e.end = static_cast<size_t>(h.end);
    e.map = map;
    out.push_back(std::move(e));
  }
  return out;
}

std::string read_text_file(const std::string& path) {
  return read_file<ModelLoadError>(path, "checkpoint file");
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct Checkpoint::Impl {
  std::map<std::string, Entry> entries;  // sorted by name
  std::string source;                    // directory or file, for messages
};

Checkpoint::Checkpoint() : impl_(std::make_unique<Impl>()) {}
Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;

Checkpoint Checkpoint::open_file(const std::string& path) {
  Checkpoint ck;
  ck.impl_->source = path;
  auto map = std::make_shared<Mapping>(path);
  for (auto& e : parse_file(map)) {
    std::string name = e.info.name;
    ck.impl_->entries.emplace(std::move(name), std::move(e));
  }
  return ck;
}

Checkpoint Checkpoint::open(const std::string& dir_or_file) {
  std::error_code ec;
  const fs::path p(dir_or_file);
  if (!fs::exists(p, ec))
    throw ModelLoadError("checkpoint " + dir_or_file +
                         " does not exist (expected a directory with model.safetensors or "
                         "model.safetensors.index.json)");
  const bool is_file = fs::is_regular_file(p, ec);
  const fs::path dir = is_file ? p.parent_path() : p;
  fs::path single = dir / "model.safetensors";
  fs::path index = dir / "model.safetensors.index.json";
  if (is_file) {
    if (!ends_with(p.string(), ".index.json")) return open_file(p.string());
    index = p;
  } else if (fs::is_regular_file(single, ec)) {
    return open_file(single.string());
  }

  if (!fs::is_regular_file(index, ec)) {
    // Nothing we read: say what we looked for, and how to convert a pickle checkpoint.
    std::vector<std::string> pickles, others;
    for (const auto& de : fs::directory_iterator(dir, ec)) {
      const std::string name = de.path().filename().string();
      if (ends_with(name, ".bin") || ends_with(name, ".pt") || ends_with(name, ".pth") ||
          name == "pytorch_model.bin.index.json")
        pickles.push_back(name);
      else if (ends_with(name, ".safetensors"))
        others.push_back(name);
    }
    std::sort(pickles.begin(), pickles.end());
    std::sort(others.begin(), others.end());
    if (!pickles.empty()) {
      // Name the weights file rather than e.g. training_args.bin when both are there.
      std::string shown = pickles.front();
      for (const auto& name : pickles)
        if (name.rfind("pytorch_model", 0) == 0) shown = name;
      const std::string d = "'" + dir.string() + "'";
      throw ModelLoadError(
          (dir / shown).string() +
          " is a pickle checkpoint, which crammer does not read; convert it to safetensors (e.g. "
          "in Python: from transformers import AutoModelForCausalLM; "
          "AutoModelForCausalLM.from_pretrained(" + d + ").save_pretrained(" + d +
          ", safe_serialization=True))");
    }
    std::string msg = "no checkpoint in " + dir.string() +
                      ": looked for model.safetensors and model.safetensors.index.json";
    if (!others.empty()) {
      msg += " (found ";
      for (size_t i = 0; i < others.size(); ++i) msg += (i ? ", " : "") + others[i];
      msg += "; pass a file path to open one of those)";
    }
    throw ModelLoadError(msg);
  }

  // Sharded: the index maps every tensor name to a shard file next to it.
  const std::string index_path = index.string();
  const auto by_shard = parse_safetensors_index(index_path, read_text_file(index_path));

  Checkpoint ck;
  ck.impl_->source = index_path;
  for (const auto& [shard, names] : by_shard) {
    const fs::path shard_path = index.parent_path() / shard;
    if (!fs::is_regular_file(shard_path, ec))
      throw ModelLoadError("index file " + index_path + ": weight_map sends tensor '" +
                           names.front() + "' to shard file " + shard_path.string() +
                           ", which does not exist");
    Checkpoint part = open_file(shard_path.string());
    for (const auto& name : names) {
      auto it = part.impl_->entries.find(name);
      if (it == part.impl_->entries.end())
        throw ModelLoadError("index file " + index_path + ": weight_map sends tensor '" + name +
                             "' to " + shard_path.string() + ", which does not hold it");
      ck.impl_->entries.emplace(name, std::move(it->second));
    }
  }
  return ck;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  if (!impl_) return out;  // moved-from
  out.reserve(impl_->entries.size());
  for (const auto& kv : impl_->entries) out.push_back(kv.first);
  return out;
}

bool Checkpoint::contains(const std::string& name) const {
  return impl_ && impl_->entries.count(name) != 0;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  if (!impl_) throw ModelLoadError("tensor '" + name + "' requested from a moved-from Checkpoint");
  auto it = impl_->entries.find(name);
  if (it == impl_->entries.end())
    throw ModelLoadError("checkpoint " + impl_->source + " has no tensor '" + name + "'");
  return it->second.info;
}

torch::Tensor Checkpoint::get(const std::string& name) const {
  if (!impl_) throw ModelLoadError("tensor '" + name + "' requested from a moved-from Checkpoint");
  auto it = impl_->entries.find(name);
  if (it == impl_->entries.end())
    throw ModelLoadError("checkpoint " + impl_->source + " has no tensor '" + name + "'");
  const Entry& e = it->second;
  if (!float_dtype(e.info.st_dtype))
    fail(e.info.file, "tensor '" + name + "' has dtype " + e.info.st_dtype +
                          "; crammer reads only F32, F16 and BF16 weights");
  const auto options = torch::TensorOptions().dtype(e.info.dtype);
  void* ptr = e.map->data + e.begin;
  // A writer may place data at offsets that are not multiples of the element size; ATen
  // kernels assume aligned elements, so such a tensor is copied instead of aliased.
  if (reinterpret_cast<uintptr_t>(ptr) % e.element_bytes != 0) {
    torch::Tensor t = torch::empty(e.info.shape, options);
    if (e.end > e.begin) std::memcpy(t.data_ptr(), ptr, e.end - e.begin);  // an empty tensor has no data_ptr
    return t;
  }
  std::shared_ptr<Mapping> keep = e.map;
  return torch::from_blob(
      ptr, e.info.shape, [keep](void*) mutable { keep.reset(); }, options);
}

}  // namespace crammer
