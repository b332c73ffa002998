// Safetensors header and index parsing: strict, torch-free, bounded (see the header's format).
#include "crammer/model/safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using nlohmann::json;

// The safetensors reference implementation refuses headers above 100 MB; so do we, so that a
// corrupt length cannot make us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw ModelLoadError("safetensors file " + file + ": " + what);
}

// The safetensors dtypes a checkpoint of a supported family uses; others are refused.
size_t dtype_bytes(const std::string& name) {
  static const std::map<std::string, size_t> table = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1},
  };
  auto it = table.find(name);
  return it == table.end() ? 0 : it->second;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer that fits in int64 (shape dims, offsets); else false.
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
std::string range(const HeaderEntry& e, uint64_t data_start) {
  return "[" + std::to_string(e.begin - data_start) + ", " + std::to_string(e.end - data_start) + "]";
}

void check_metadata(const std::string& path, const json& value) {
  if (!value.is_object()) fail(path, "'__metadata__' is not an object of strings");
  for (const auto& [key, v] : value.items())
    if (!v.is_string()) fail(path, "'__metadata__' field '" + key + "' is not a string");
}

// One tensor's entry, checked against a data section of `data_size` bytes at `data_start`.
HeaderEntry parse_entry(const std::string& path, const std::string& name, const json& value,
                        uint64_t data_start, uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) fail(path, where + ": entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!value.contains(field)) fail(path, where + ": missing field '" + field + "'");

  HeaderEntry e;
  e.name = name;
  const json& dt = value["dtype"];
  if (!dt.is_string()) fail(path, where + ": field 'dtype' is not a string");
  e.dtype = dt.get<std::string>();
  e.element_bytes = dtype_bytes(e.dtype);
  if (e.element_bytes == 0)
    fail(path, where + ": field 'dtype' has unknown value '" + e.dtype + "' (expected F32, F16 or BF16)");

  const json& shape = value["shape"];
  if (!shape.is_array()) fail(path, where + ": field 'shape' is not an array");
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : shape) {
    uint64_t n = 0;
    if (!as_count(d, n)) fail(path, where + ": field 'shape' holds " + d.dump() + ", not a size");
    e.shape.push_back(static_cast<int64_t>(n));
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
    numel *= n;
  }

  const json& offs = value["data_offsets"];
  uint64_t begin = 0, end = 0;
  if (!offs.is_array() || offs.size() != 2 || !as_count(offs[0], begin) || !as_count(offs[1], end))
    fail(path, where + ": field 'data_offsets' is " + offs.dump() +
                   ", expected [begin, end] with non-negative integers");
  const std::string given = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
  if (begin > end) fail(path, where + ": data_offsets " + given + " has begin > end");
  if (end > data_size)
    fail(path, where + ": data_offsets " + given + " out of range of the data section (" +
                   std::to_string(data_size) + " bytes)");
  const uint64_t bytes = end - begin;
  overflow = overflow || numel > std::numeric_limits<uint64_t>::max() / e.element_bytes;
  if (overflow || numel * e.element_bytes != bytes)
    fail(path, where + ": " + e.dtype + " shape " + shape.dump() + " needs " +
                   (overflow ? std::string("more than 2^64") : std::to_string(numel * e.element_bytes)) +
                   " bytes but data_offsets span " + std::to_string(bytes));
  e.begin = data_start + begin;
  e.end = data_start + end;
  return e;
}

}  // namespace

bool float_dtype(const std::string& dtype) { return dtype == "F32" || dtype == "F16" || dtype == "BF16"; }

std::vector<HeaderEntry> parse_safetensors_header(const std::string& path, const uint8_t* bytes, size_t size) {
  if (size < 8)
    fail(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length field");
  const uint64_t header_len = read_u64_le(bytes);
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  if (header_len > size - 8)
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(size) + " bytes)");
  const char* text = reinterpret_cast<const char*>(bytes + 8);

  // Duplicate top-level keys would silently shadow a tensor; reject them while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second)
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

  const uint64_t data_start = 8 + header_len;
  std::vector<HeaderEntry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__")
      check_metadata(path, value);
    else
      entries.push_back(parse_entry(path, name, value, data_start, size - data_start));
  }

  // Overlap check on the non-empty ranges, in file order.
  std::vector<const HeaderEntry*> by_offset;
  for (const auto& e : entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const HeaderEntry* a, const HeaderEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail(path, "tensor '" + by_offset[i]->name + "': data_offsets " + range(*by_offset[i], data_start) +
                     " overlap tensor '" + by_offset[i - 1]->name + "' at " + range(*by_offset[i - 1], data_start));
  return entries;
}

std::map<std::string, std::vector<std::string>> parse_safetensors_index(const std::string& path,
                                                                        const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw ModelLoadError("index file " + path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ModelLoadError("index file " + path + " is not a JSON object");
  if (!j.contains("weight_map")) throw ModelLoadError("index file " + path + ": missing field 'weight_map'");
  const json& wm = j["weight_map"];
  if (!wm.is_object() || wm.empty())
    throw ModelLoadError("index file " + path +
                         ": field 'weight_map' is not a non-empty object of tensor name -> file");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, file] : wm.items()) {
    if (!file.is_string())
      throw ModelLoadError("index file " + path + ": weight_map entry for tensor '" + name +
                           "' is not a file name string");
    by_shard[file.get<std::string>()].push_back(name);
  }
  return by_shard;
}

}  // namespace crammer
