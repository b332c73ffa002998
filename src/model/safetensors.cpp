// Safetensors checkpoints, reading side: a memory-mapped, zero-copy reader with strict bounds
// checks (single file or Hugging Face sharded index). Writing: safetensors_write.cpp.
// Not for pickle checkpoints (pytorch_model.bin): those are refused with a conversion hint.
//
// Format: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// then the data section; offsets are relative to the start of the data section.
#include "crammer/model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crammer's safetensors reader assumes a little-endian host"
#endif

namespace crammer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The safetensors reference implementation refuses headers above 100 MB; so do we, so that a
// corrupt length cannot make us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw ModelLoadError("safetensors file " + file + ": " + what);
}

struct DtypeDesc {
  const char* name;
  size_t bytes;
  torch::Dtype torch_dtype;
  bool readable;  // crammer returns only float weights
};

// Every dtype of the safetensors spec that LibTorch 1.13 can name; others are refused at open.
const DtypeDesc* find_dtype(const std::string& name) {
  static const DtypeDesc table[] = {
      {"F32", 4, torch::kFloat32, true},   {"F16", 2, torch::kFloat16, true},
      {"BF16", 2, torch::kBFloat16, true}, {"F64", 8, torch::kFloat64, false},
      {"I64", 8, torch::kInt64, false},    {"I32", 4, torch::kInt32, false},
      {"I16", 2, torch::kInt16, false},    {"I8", 1, torch::kInt8, false},
      {"U8", 1, torch::kUInt8, false},     {"BOOL", 1, torch::kBool, false},
  };
  for (const auto& d : table)
    if (name == d.name) return &d;
  return nullptr;
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
    if (size < 8) {
      ::close(fd);
      fail(path, "file is " + std::to_string(size) +
                     " bytes, shorter than the 8-byte header length field");
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
  const DtypeDesc* desc = nullptr;
  size_t begin = 0;  // absolute byte offsets in the mapping
  size_t end = 0;
  std::shared_ptr<Mapping> map;
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer that fits in int64 (shape dims, offsets); else a message.
bool as_count(const json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
  } else if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    out = static_cast<uint64_t>(v);
  } else {
    return false;
  }
  return out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

// "[begin, end]" relative to the data section, as the header writes it.
std::string range(const Entry& e, size_t data_start) {
  return "[" + std::to_string(e.begin - data_start) + ", " + std::to_string(e.end - data_start) + "]";
}

// Parses the header and checks every entry against the data section of the mapping.
std::vector<Entry> parse_file(const std::shared_ptr<Mapping>& map) {
  const std::string& path = map->path;
  const uint64_t header_len = read_u64_le(map->data);
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  if (header_len > map->size - 8)
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(map->size) + " bytes)");
  const char* text = reinterpret_cast<const char*>(map->data + 8);

  // Duplicate top-level keys would silently shadow a tensor; reject them while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !seen.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + header_len, on_event);
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header JSON is not an object");
  if (!duplicate.empty()) fail(path, "header names tensor '" + duplicate + "' twice");

  const size_t data_start = 8 + static_cast<size_t>(header_len);
  const uint64_t data_size = map->size - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    const std::string where = "tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, "'__metadata__' is not an object of strings");
      for (const auto& [key, v] : value.items())
        if (!v.is_string()) fail(path, "'__metadata__' field '" + key + "' is not a string");
      continue;
    }
    if (!value.is_object()) fail(path, where + ": entry is not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!value.contains(field)) fail(path, where + ": missing field '" + field + "'");

    Entry e;
    e.info.name = name;
    e.info.file = path;
    e.map = map;
    const json& dt = value["dtype"];
    if (!dt.is_string()) fail(path, where + ": field 'dtype' is not a string");
    e.desc = find_dtype(dt.get<std::string>());
    if (!e.desc)
      fail(path, where + ": field 'dtype' has unknown value '" + dt.get<std::string>() +
                     "' (expected F32, F16 or BF16)");
    e.info.dtype = e.desc->torch_dtype;
    e.info.st_dtype = e.desc->name;

    const json& shape = value["shape"];
    if (!shape.is_array()) fail(path, where + ": field 'shape' is not an array");
    uint64_t numel = 1;
    bool overflow = false;
    for (const json& d : shape) {
      uint64_t n = 0;
      if (!as_count(d, n)) fail(path, where + ": field 'shape' holds " + d.dump() + ", not a size");
      e.info.shape.push_back(static_cast<int64_t>(n));
      if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
      numel *= n;
    }

    const json& offs = value["data_offsets"];
    uint64_t begin = 0, end = 0;
    if (!offs.is_array() || offs.size() != 2 || !as_count(offs[0], begin) ||
        !as_count(offs[1], end))
      fail(path, where + ": field 'data_offsets' is " + offs.dump() +
                     ", expected [begin, end] with non-negative integers");
    if (begin > end)
      fail(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] has begin > end");
    if (end > data_size)
      fail(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] out of range of the data section (" + std::to_string(data_size) +
                     " bytes)");
    const uint64_t bytes = end - begin;
    overflow = overflow || numel > std::numeric_limits<uint64_t>::max() / e.desc->bytes;
    if (overflow || numel * e.desc->bytes != bytes)
      fail(path,
           where + ": " + std::string(e.desc->name) + " shape " + shape.dump() + " needs " +
               (overflow ? std::string("more than 2^64") : std::to_string(numel * e.desc->bytes)) +
               " bytes but data_offsets span " + std::to_string(bytes));
    e.begin = data_start + static_cast<size_t>(begin);
    e.end = data_start + static_cast<size_t>(end);
    entries.push_back(std::move(e));
  }

  // Overlap check on the non-empty ranges, in file order.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail(path, "tensor '" + by_offset[i]->info.name + "': data_offsets " +
                     range(*by_offset[i], data_start) + " overlap tensor '" +
                     by_offset[i - 1]->info.name + "' at " + range(*by_offset[i - 1], data_start));
  return entries;
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
  json j;
  try {
    j = json::parse(read_text_file(index_path));
  } catch (const json::exception& e) {
    throw ModelLoadError("index file " + index_path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ModelLoadError("index file " + index_path + " is not a JSON object");
  if (!j.contains("weight_map"))
    throw ModelLoadError("index file " + index_path + ": missing field 'weight_map'");
  const json& wm = j["weight_map"];
  if (!wm.is_object() || wm.empty())
    throw ModelLoadError("index file " + index_path +
                         ": field 'weight_map' is not a non-empty object of tensor name -> file");

  std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensor names
  for (const auto& [name, file] : wm.items()) {
    if (!file.is_string())
      throw ModelLoadError("index file " + index_path + ": weight_map entry for tensor '" + name +
                           "' is not a file name string");
    by_shard[file.get<std::string>()].push_back(name);
  }

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
  if (!e.desc->readable)
    fail(e.info.file, "tensor '" + name + "' has dtype " + e.desc->name +
                          "; crammer reads only F32, F16 and BF16 weights");
  const auto options = torch::TensorOptions().dtype(e.info.dtype);
  void* ptr = e.map->data + e.begin;
  // A writer may place data at offsets that are not multiples of the element size; ATen
  // kernels assume aligned elements, so such a tensor is copied instead of aliased.
  if (reinterpret_cast<uintptr_t>(ptr) % e.desc->bytes != 0) {
    torch::Tensor t = torch::empty(e.info.shape, options);
    std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
    return t;
  }
  std::shared_ptr<Mapping> keep = e.map;
  return torch::from_blob(
      ptr, e.info.shape, [keep](void*) mutable { keep.reset(); }, options);
}

}  // namespace crammer
