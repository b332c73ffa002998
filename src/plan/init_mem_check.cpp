// Reading the cram.init_mem file before a run (preflight.hpp): every task's tensor, its dtype,
// shape and values, from the safetensors header and data without LibTorch.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "crammer/model/safetensors_header.hpp"
#include "crammer/plan/preflight.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

namespace {

constexpr size_t kListed = 5;  // names quoted in a message before "..."

struct ReadOnlyMap {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ReadOnlyMap(const std::string& path, const std::string& where) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ConfigError(where + "cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
      ::close(fd);
      throw ConfigError(where + "is empty or unreadable; expected a safetensors file");
    }
    size = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) throw ConfigError(where + "cannot map: " + std::strerror(err));
    data = static_cast<const uint8_t*>(p);
  }
  ~ReadOnlyMap() { ::munmap(const_cast<uint8_t*>(data), size); }
  ReadOnlyMap(const ReadOnlyMap&) = delete;
  ReadOnlyMap& operator=(const ReadOnlyMap&) = delete;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Index of the first value whose exponent bits are all ones (inf or NaN), or -1. The float
// formats crammer reads keep the exponent in the same place relative to the sign.
int64_t first_non_finite(const HeaderEntry& e, const uint8_t* base) {
  const size_t n = (e.end - e.begin) / e.element_bytes;
  const uint8_t* p = base + e.begin;
  for (size_t i = 0; i < n; ++i) {
    if (e.dtype == "F32") {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      if ((v & 0x7F800000u) == 0x7F800000u) return static_cast<int64_t>(i);
    } else {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      const uint16_t exp = e.dtype == "BF16" ? 0x7F80u : 0x7C00u;  // F16: 5 exponent bits
      if ((v & exp) == exp) return static_cast<int64_t>(i);
    }
  }
  return -1;
}

}  // namespace

void preflight_init_mem(const ExperimentConfig& config, const Plan& plan) {
  if (!config.cram.init_mem) return;
  const std::string source = config.source_file.empty() ? std::string("config") : config.source_file;
  const std::string& file = *config.cram.init_mem;
  const std::string where = source + ": cram.init_mem: " + file + ": ";
  ReadOnlyMap map(file, where);
  std::map<std::string, HeaderEntry> tensors;
  try {
    for (auto& e : parse_safetensors_header(file, map.data, map.size)) tensors[e.name] = std::move(e);
  } catch (const Error& e) {
    throw ConfigError(where + "not a readable safetensors file: " + e.what());
  }
  std::vector<std::string> missing;
  for (const Task& t : plan.tasks) {
    const auto it = tensors.find(t.key);
    if (it == tensors.end()) {
      missing.push_back(t.key);
      continue;
    }
    const HeaderEntry& e = it->second;
    const ModelRecord& m = plan.models.at(static_cast<size_t>(t.model_index));
    const std::string tensor = where + "tensor '" + t.key + "' ";
    if (!float_dtype(e.dtype))
      throw ConfigError(tensor + "has dtype " + e.dtype + "; expected F32, F16 or BF16");
    const int64_t extra = one_step_extra_rows(config.cram);
    const std::vector<int64_t> want = {t.n_mem + extra, m.d_model};
    if (e.shape != want)
      throw ConfigError(tensor + "has shape " + shape_text(e.shape) + "; expected " + shape_text(want) +
                        " (k = " + std::to_string(t.n_mem) + " [mem] vectors" + (extra ? " and m" : "") +
                        " of model '" + m.name + "''s width " + std::to_string(m.d_model) + ")");
    if (const int64_t i = first_non_finite(e, map.data); i >= 0)
      throw ConfigError(tensor + "holds a non-finite value (inf or NaN) at [" + std::to_string(i / m.d_model) +
                        ", " + std::to_string(i % m.d_model) + "]; expected finite values");
  }
  if (config.cram.one_step == "shared") {  // the run's one m, as wide as every model's [mem]
    const auto it = tensors.find("m");
    if (it == tensors.end())
      throw ConfigError(where + "no tensor 'm': cram.one_step shared reads the run's shared m from it");
    for (const auto& m : plan.models) {
      const HeaderEntry& e = it->second;
      if (!float_dtype(e.dtype) || e.shape != std::vector<int64_t>{m.d_model})
        throw ConfigError(where + "tensor 'm' has dtype " + e.dtype + " and shape " + shape_text(e.shape) +
                          "; expected a float [" + std::to_string(m.d_model) + "] (model '" + m.name + "''s width)");
    }
  }
  if (!missing.empty()) {
    std::string names;
    for (size_t i = 0; i < missing.size() && i < kListed; ++i) names += (i ? ", '" : "'") + missing[i] + "'";
    if (missing.size() > kListed) names += ", ...";
    throw ConfigError(where + "no tensor for " + std::to_string(missing.size()) + " of the " +
                      std::to_string(plan.tasks.size()) + " tasks (" + names + "; a task's tensor is named by " +
                      "its key, as `crammer plan --json` lists them); the file holds " +
                      std::to_string(tensors.size()) + " tensor(s)");
  }
}

}  // namespace crammer
