// Layout of a results file, schema_version 1 (see schema.hpp and docs/results-file.md).
#include "schema.hpp"

#include <cctype>
#include <cstddef>
#include <cstring>
#include <set>

#include <map>
#include <sys/stat.h>

#include "crammer/util/error.hpp"

namespace crammer::schema {

namespace {

h5::Id status_type() {
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tenum_create(H5T_NATIVE_INT8), "status type"));
  for (TaskStatus s : {TaskStatus::done, TaskStatus::failed, TaskStatus::skipped}) {
    auto v = static_cast<int8_t>(s);
    CRAMMER_H5(H5Tenum_insert(t, status_name(s), &v), "status type");
  }
  return t;
}

void insert(hid_t compound, const char* name, size_t offset, hid_t type) {
  CRAMMER_H5(H5Tinsert(compound, name, offset, type), std::string("compound field ") + name);
}

// A copy of a memory compound type without padding, for the file.
h5::Id packed(hid_t mem_type) {
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcopy(mem_type), "file type"));
  CRAMMER_H5(H5Tpack(t), "file type");
  return t;
}

// Copies `s` into a fixed field of `width` bytes (with its NUL); longer text is cut at a UTF-8
// character boundary and ends in "...".
void copy_text(char* field, size_t width, const std::string& s) {
  std::memset(field, 0, width);
  if (s.size() < width) {
    std::memcpy(field, s.data(), s.size());
    return;
  }
  size_t n = width - 4;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::memcpy(field, s.data(), n);
  std::memcpy(field + n, "...", 3);
}

std::string text_of(const char* field, size_t width) {
  return std::string(field, strnlen(field, width));
}

struct ModelRow {
  int32_t model_index;
  const char* name;
  const char* path;
  const char* dtype;
  const char* model_type;
  int64_t d_model;
  int64_t num_layers;
  int64_t vocab_size;
  int64_t n_params;
  int32_t bos_token;
};

struct SampleRow {
  int64_t sample_id;
  int32_t model_index;
  const char* source;
  int64_t offset;
  const char* text_kind;
  const char* text;
  hvl_t token_ids;  // int32
};

h5::Id model_type() {
  h5::Id s = h5::vlen_string_type();
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, sizeof(ModelRow)), "/models type"));
  insert(t, "model_index", offsetof(ModelRow, model_index), H5T_NATIVE_INT32);
  insert(t, "name", offsetof(ModelRow, name), s);
  insert(t, "path", offsetof(ModelRow, path), s);
  insert(t, "dtype", offsetof(ModelRow, dtype), s);
  insert(t, "model_type", offsetof(ModelRow, model_type), s);
  insert(t, "d_model", offsetof(ModelRow, d_model), H5T_NATIVE_INT64);
  insert(t, "num_layers", offsetof(ModelRow, num_layers), H5T_NATIVE_INT64);
  insert(t, "vocab_size", offsetof(ModelRow, vocab_size), H5T_NATIVE_INT64);
  insert(t, "n_params", offsetof(ModelRow, n_params), H5T_NATIVE_INT64);
  insert(t, "bos_token", offsetof(ModelRow, bos_token), H5T_NATIVE_INT32);
  return t;
}

h5::Id sample_type() {
  h5::Id s = h5::vlen_string_type();
  h5::Id ids = h5::type_id(CRAMMER_H5(H5Tvlen_create(H5T_NATIVE_INT32), "/samples type"));
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, sizeof(SampleRow)), "/samples type"));
  insert(t, "sample_id", offsetof(SampleRow, sample_id), H5T_NATIVE_INT64);
  insert(t, "model_index", offsetof(SampleRow, model_index), H5T_NATIVE_INT32);
  insert(t, "source", offsetof(SampleRow, source), s);
  insert(t, "offset", offsetof(SampleRow, offset), H5T_NATIVE_INT64);
  insert(t, "text_kind", offsetof(SampleRow, text_kind), s);
  insert(t, "text", offsetof(SampleRow, text), s);
  insert(t, "token_ids", offsetof(SampleRow, token_ids), ids);
  return t;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string version_attr(const std::string& key) {
  std::string name = "version_";
  for (char c : key) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace

h5::Id result_type() {
  using R = ResultRow;
  h5::Id key = h5::string_type(kTaskKeyWidth);
  h5::Id sname = h5::string_type(sizeof(R::status_name));
  h5::Id device = h5::string_type(kDeviceWidth);
  h5::Id error = h5::string_type(kErrorWidth);
  h5::Id status = status_type();
  h5::Id flag = h5::bool_type();
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, sizeof(R)), "/results type"));
  insert(t, "task_key", offsetof(R, task_key), key);
  insert(t, "model_index", offsetof(R, model_index), H5T_NATIVE_INT32);
  insert(t, "sample_id", offsetof(R, sample_id), H5T_NATIVE_INT64);
  insert(t, "n_mem", offsetof(R, n_mem), H5T_NATIVE_INT32);
  insert(t, "length", offsetof(R, length), H5T_NATIVE_INT32);
  insert(t, "status", offsetof(R, status), status);
  insert(t, "status_name", offsetof(R, status_name), sname);
  insert(t, "n_tokens", offsetof(R, n_tokens), H5T_NATIVE_INT32);
  insert(t, "n_targets", offsetof(R, n_targets), H5T_NATIVE_INT32);
  insert(t, "baseline_loss", offsetof(R, baseline_loss), H5T_NATIVE_DOUBLE);
  insert(t, "baseline_acc", offsetof(R, baseline_acc), H5T_NATIVE_DOUBLE);
  insert(t, "best_acc", offsetof(R, best_acc), H5T_NATIVE_DOUBLE);
  insert(t, "best_loss", offsetof(R, best_loss), H5T_NATIVE_DOUBLE);
  insert(t, "steps", offsetof(R, steps), H5T_NATIVE_INT32);
  insert(t, "steps_to_best", offsetof(R, steps_to_best), H5T_NATIVE_INT32);
  insert(t, "converged", offsetof(R, converged), flag);
  insert(t, "info_gain_nats", offsetof(R, info_gain_nats), H5T_NATIVE_DOUBLE);
  insert(t, "info_gain_bits", offsetof(R, info_gain_bits), H5T_NATIVE_DOUBLE);
  insert(t, "token_gain", offsetof(R, token_gain), H5T_NATIVE_INT32);
  insert(t, "decode_exact", offsetof(R, decode_exact), flag);
  insert(t, "decode_prefix", offsetof(R, decode_prefix), H5T_NATIVE_INT32);
  insert(t, "capacity", offsetof(R, capacity), H5T_NATIVE_INT32);
  insert(t, "wall_seconds", offsetof(R, wall_seconds), H5T_NATIVE_DOUBLE);
  insert(t, "rank", offsetof(R, rank), H5T_NATIVE_INT32);
  insert(t, "device", offsetof(R, device), device);
  insert(t, "error", offsetof(R, error), error);
  insert(t, "memory_offset", offsetof(R, memory_offset), H5T_NATIVE_INT64);
  insert(t, "memory_k", offsetof(R, memory_k), H5T_NATIVE_INT32);
  insert(t, "memory_d", offsetof(R, memory_d), H5T_NATIVE_INT32);
  insert(t, "curve_offset", offsetof(R, curve_offset), H5T_NATIVE_INT64);
  insert(t, "curve_length", offsetof(R, curve_length), H5T_NATIVE_INT32);
  return t;
}

h5::Id key_type() {
  h5::Id key = h5::string_type(kTaskKeyWidth);
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, sizeof(KeyRow)), "/results key type"));
  insert(t, "task_key", offsetof(KeyRow, task_key), key);
  insert(t, "length", offsetof(KeyRow, length), H5T_NATIVE_INT32);
  return t;
}

ResultRow to_row(const TaskResult& r, int64_t memory_offset, int64_t curve_offset,
                 const std::string& where) {
  if (r.task_key.empty() || r.task_key.size() >= static_cast<size_t>(kTaskKeyWidth))
    throw StoreError(where + ": task key '" + r.task_key + "' must be 1.." +
                     std::to_string(kTaskKeyWidth - 1) + " bytes (it has " +
                     std::to_string(r.task_key.size()) + ")");
  ResultRow row;
  std::memset(&row, 0, sizeof row);
  copy_text(row.task_key, sizeof row.task_key, r.task_key);
  row.model_index = r.model_index;
  row.sample_id = r.sample_id;
  row.n_mem = r.n_mem;
  row.length = r.length;
  row.status = static_cast<int8_t>(r.status);
  copy_text(row.status_name, sizeof row.status_name, status_name(r.status));
  row.n_tokens = r.n_tokens;
  row.n_targets = r.n_targets;
  row.baseline_loss = r.baseline_loss;
  row.baseline_acc = r.baseline_acc;
  row.best_acc = r.best_acc;
  row.best_loss = r.best_loss;
  row.steps = r.steps;
  row.steps_to_best = r.steps_to_best;
  row.converged = r.converged ? 1 : 0;
  row.info_gain_nats = r.info_gain_nats;
  row.info_gain_bits = r.info_gain_bits;
  row.token_gain = r.token_gain;
  row.decode_exact = r.decode_exact ? 1 : 0;
  row.decode_prefix = r.decode_prefix;
  row.capacity = r.capacity;
  row.wall_seconds = r.wall_seconds;
  row.rank = r.rank;
  copy_text(row.device, sizeof row.device, r.device);
  copy_text(row.error, sizeof row.error, r.error);
  row.memory_offset = r.memory.empty() ? -1 : memory_offset;
  row.memory_d = r.memory.empty() ? 0 : r.d_model;
  row.memory_k = r.memory.empty() || r.d_model <= 0
                     ? 0 : static_cast<int32_t>(r.memory.size() / static_cast<size_t>(r.d_model));
  row.curve_offset = r.curve_loss.empty() ? -1 : curve_offset;
  row.curve_length = static_cast<int32_t>(r.curve_loss.size());
  return row;
}

TaskResult from_row(const ResultRow& row) {
  TaskResult r;
  r.task_key = text_of(row.task_key, sizeof row.task_key);
  r.model_index = row.model_index;
  r.sample_id = row.sample_id;
  r.n_mem = row.n_mem;
  r.length = row.length;
  r.status = static_cast<TaskStatus>(row.status);
  r.n_tokens = row.n_tokens;
  r.n_targets = row.n_targets;
  r.baseline_loss = row.baseline_loss;
  r.baseline_acc = row.baseline_acc;
  r.best_acc = row.best_acc;
  r.best_loss = row.best_loss;
  r.steps = row.steps;
  r.steps_to_best = row.steps_to_best;
  r.converged = row.converged != 0;
  r.info_gain_nats = row.info_gain_nats;
  r.info_gain_bits = row.info_gain_bits;
  r.token_gain = row.token_gain;
  r.decode_exact = row.decode_exact != 0;
  r.decode_prefix = row.decode_prefix;
  r.capacity = row.capacity;
  r.wall_seconds = row.wall_seconds;
  r.rank = row.rank;
  r.device = text_of(row.device, sizeof row.device);
  r.error = text_of(row.error, sizeof row.error);
  return r;
}

std::string memory_dataset(const std::string& model_name) {
  if (model_name.empty() || model_name == "." || model_name.find('/') != std::string::npos)
    throw StoreError("model name '" + model_name +
                     "' cannot name the HDF5 dataset /memory/<model>: use a name without '/'");
  return "/memory/" + model_name;
}

h5::Id create_file(const std::string& path, const RunHeader& header) {
  const RunInfo& run = header.run;
  h5::Id fapl = h5::plist_id(CRAMMER_H5(H5Pcreate(H5P_FILE_ACCESS), path));
  CRAMMER_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path);
  h5::Id file = h5::file_id(
      CRAMMER_H5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), path));
  const std::string root = path + ":/";
  h5::write_int_attr(file, "schema_version", kSchemaVersion, root);
  h5::write_string_attr(file, "config_yaml", run.config_yaml, root);
  h5::write_string_attr(file, "config_fingerprint", run.config_fingerprint, root);
  h5::write_string_attr(file, "command_line", run.command_line, root);
  h5::write_string_attr(file, "start_time", run.start_time, root);
  h5::write_string_attr(file, "hosts", join(run.hosts, ","), root);
  for (const auto& [key, value] : run.versions)
    h5::write_string_attr(file, version_attr(key), value, root);

  {
    h5::Id mt = model_type();
    h5::Id ft = packed(mt);
    h5::Id ds = h5::create_table(file, "models", ft, 64);
    std::vector<ModelRow> rows;
    for (const auto& m : header.models)
      rows.push_back({m.model_index, m.name.c_str(), m.path.c_str(), m.dtype.c_str(),
                      m.model_type.c_str(), m.d_model, m.num_layers, m.vocab_size, m.n_params,
                      m.bos_token});
    h5::append_rows(ds, mt, rows.data(), rows.size(), 0, path + ":/models");
  }
  {
    h5::Id mt = sample_type();
    h5::Id ft = packed(mt);
    h5::Id ds = h5::create_table(file, "samples", ft, 256);
    std::vector<SampleRow> rows;
    for (const auto& s : header.samples) {
      hvl_t ids{s.token_ids.size(), const_cast<int32_t*>(s.token_ids.data())};
      rows.push_back({s.sample_id, s.model_index, s.source.c_str(), s.offset,
                      s.text_kind.c_str(), s.text.c_str(), ids});
    }
    h5::append_rows(ds, mt, rows.data(), rows.size(), 0, path + ":/samples");
  }
  {
    h5::Id mt = result_type();
    h5::Id ft = packed(mt);
    h5::create_table(file, "results", ft, kResultChunk);
  }
  {
    h5::Id group = h5::group_id(
        CRAMMER_H5(H5Gcreate2(file, "memory", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path + ":/memory"));
    std::set<std::string> seen;
    for (const auto& m : header.models) {
      std::string name = memory_dataset(m.name).substr(8);
      if (!seen.insert(name).second)
        throw StoreError(path + ": two models are named '" + name + "'; model names must differ");
      h5::create_table(group, name, H5T_IEEE_F32LE, kMemoryChunk);
    }
  }
  {
    h5::Id group = h5::group_id(
        CRAMMER_H5(H5Gcreate2(file, "curves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path + ":/curves"));
    h5::create_table(group, "loss", H5T_IEEE_F32LE, kCurveChunk);
    h5::create_table(group, "acc", H5T_IEEE_F32LE, kCurveChunk);
  }
  return file;
}

RunHeader read_header(hid_t file, const std::string& path, int32_t* schema_version) {
  const std::string root = path + ":/";
  RunHeader h;
  if (!h5::has_attr(file, "schema_version", root))
    throw StoreError(path + " is an HDF5 file but not a crammer results file (no root attribute "
                     "schema_version)");
  *schema_version = h5::read_int_attr(file, "schema_version", root);
  if (*schema_version > kSchemaVersion)
    throw StoreError(path + " has schema_version " + std::to_string(*schema_version) +
                     "; this crammer reads up to " + std::to_string(kSchemaVersion));
  RunInfo& run = h.run;
  run.config_yaml = h5::read_string_attr(file, "config_yaml", root);
  run.config_fingerprint = h5::read_string_attr(file, "config_fingerprint", root);
  run.command_line = h5::read_string_attr(file, "command_line", root);
  run.start_time = h5::read_string_attr(file, "start_time", root);
  run.hosts = split(h5::read_string_attr(file, "hosts", root), ',');
  for (const auto& name : h5::attr_names(file, root))
    if (name.rfind("version_", 0) == 0)
      run.versions[name.substr(8)] = h5::read_string_attr(file, name, root);

  {
    const std::string where = path + ":/models";
    h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "models", H5P_DEFAULT), where));
    h5::Id mt = model_type();
    hsize_t n = h5::rows_of(ds, where);
    std::vector<ModelRow> rows(n);
    for (auto& r : rows) r.bos_token = -1;  // files from before the column: no BOS was added
    h5::read_rows(ds, mt, rows.data(), 0, n, where);
    for (const auto& r : rows)
      h.models.push_back({r.model_index, r.name ? r.name : "", r.path ? r.path : "",
                          r.dtype ? r.dtype : "", r.model_type ? r.model_type : "", r.d_model,
                          r.num_layers, r.vocab_size, r.n_params, r.bos_token});
    if (n > 0) {
      h5::Id space = h5::space_id(CRAMMER_H5(H5Screate_simple(1, &n, nullptr), where));
      CRAMMER_H5(H5Dvlen_reclaim(mt, space, H5P_DEFAULT, rows.data()), where);
    }
  }
  {
    const std::string where = path + ":/samples";
    h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "samples", H5P_DEFAULT), where));
    h5::Id mt = sample_type();
    hsize_t n = h5::rows_of(ds, where);
    std::vector<SampleRow> rows(n);
    h5::read_rows(ds, mt, rows.data(), 0, n, where);
    for (const auto& r : rows) {
      SampleRecord s;
      s.sample_id = r.sample_id;
      s.model_index = r.model_index;
      s.source = r.source ? r.source : "";
      s.offset = r.offset;
      s.text_kind = r.text_kind ? r.text_kind : "";
      s.text = r.text ? r.text : "";
      const auto* ids = static_cast<const int32_t*>(r.token_ids.p);
      s.token_ids.assign(ids, ids + r.token_ids.len);
      h.samples.push_back(std::move(s));
    }
    if (n > 0) {
      h5::Id space = h5::space_id(CRAMMER_H5(H5Screate_simple(1, &n, nullptr), where));
      CRAMMER_H5(H5Dvlen_reclaim(mt, space, H5P_DEFAULT, rows.data()), where);
    }
  }
  return h;
}

std::vector<TaskResult> read_results(hid_t file, const std::string& path, const RunHeader& header,
                                     ReadArrays arrays) {
  const std::string where = path + ":/results";
  h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "results", H5P_DEFAULT), where));
  h5::Id mt = result_type();
  hsize_t n = h5::rows_of(ds, where);
  std::vector<ResultRow> raw(n);
  h5::read_rows(ds, mt, raw.data(), 0, n, where);
  std::vector<TaskResult> rows;
  rows.reserve(n);
  for (const auto& r : raw) rows.push_back(from_row(r));

  if (arrays.memory) {
    std::map<int32_t, std::string> names;
    for (const auto& m : header.models) names[m.model_index] = m.name;
    std::map<int32_t, std::pair<h5::Id, hsize_t>> sets;  // model_index -> (dataset, size)
    for (size_t i = 0; i < n; ++i) {
      const ResultRow& r = raw[i];
      if (r.memory_offset < 0 || r.memory_k <= 0 || r.memory_d <= 0) continue;
      auto name = names.find(r.model_index);
      if (name == names.end()) continue;
      auto it = sets.find(r.model_index);
      if (it == sets.end()) {
        const std::string dname = memory_dataset(name->second);
        h5::Id mds = h5::dataset_id(
            CRAMMER_H5(H5Dopen2(file, dname.c_str(), H5P_DEFAULT), path + ":" + dname));
        hsize_t size = h5::rows_of(mds, path + ":" + dname);
        it = sets.emplace(r.model_index, std::make_pair(std::move(mds), size)).first;
      }
      hsize_t count = static_cast<hsize_t>(r.memory_k) * static_cast<hsize_t>(r.memory_d);
      if (static_cast<hsize_t>(r.memory_offset) + count > it->second.second) continue;
      rows[i].memory.resize(count);  // [k, d]
      rows[i].d_model = r.memory_d;
      h5::read_rows(it->second.first, H5T_NATIVE_FLOAT, rows[i].memory.data(),
                    static_cast<hsize_t>(r.memory_offset), count, path + ":/memory/" + name->second);
    }
  }
  if (arrays.curves) {
    std::vector<float> loss, acc;
    for (auto [name, out] : {std::make_pair("/curves/loss", &loss), std::make_pair("/curves/acc", &acc)}) {
      h5::Id cds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, name, H5P_DEFAULT), path + ":" + name));
      hsize_t size = h5::rows_of(cds, path + ":" + name);
      out->resize(size);
      h5::read_rows(cds, H5T_NATIVE_FLOAT, out->data(), 0, size, path + ":" + name);
    }
    for (size_t i = 0; i < n; ++i) {
      const ResultRow& r = raw[i];
      if (r.curve_offset < 0 || r.curve_length <= 0) continue;
      size_t end = static_cast<size_t>(r.curve_offset) + static_cast<size_t>(r.curve_length);
      if (end > loss.size() || end > acc.size()) continue;
      rows[i].curve_loss.assign(loss.begin() + r.curve_offset, loss.begin() + end);
      rows[i].curve_acc.assign(acc.begin() + r.curve_offset, acc.begin() + end);
    }
  }
  return rows;
}

h5::Id open_for_reading(const std::string& path) {
  h5::silence_errors();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw StoreError("results file " + path + " does not exist");
  // SWMR readers need no lock; without this a reader would be refused while a writer runs.
  h5::Id fapl = h5::plist_id(CRAMMER_H5(H5Pcreate(H5P_FILE_ACCESS), path));
  CRAMMER_H5(H5Pset_file_locking(fapl, false, true), path);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
  if (id >= 0) return h5::file_id(id);
  std::string swmr_stack = h5::error_stack();
  id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  if (id >= 0) return h5::file_id(id);
  throw StoreError("cannot open results file " + path +
                   ": not an HDF5 file or damaged. If a run crashed while writing it, run it "
                   "again with the same config: it rebuilds the file from " + journal_path(path) +
                   ".\nHDF5 error stack (SWMR read):\n" + swmr_stack +
                   "\nHDF5 error stack (read-only):\n" + h5::error_stack());
}

}  // namespace crammer::schema
