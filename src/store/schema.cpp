// Layout of a results file, schema_version 1 (see schema.hpp and docs/results-file.md).
#include "schema.hpp"

#include "row_layout.hpp"

#include <cctype>
#include <cstddef>
#include <cstring>
#include <set>

#include <map>
#include <sys/stat.h>

#include "crammer/core/result_columns.hpp"
#include "crammer/core/result_fields.hpp"
#include "crammer/util/error.hpp"

namespace crammer::schema {

namespace {

void insert(hid_t compound, const char* name, size_t offset, hid_t type) {
  CRAMMER_H5(H5Tinsert(compound, name, offset, type), std::string("compound field ") + name);
}

// A copy of a memory compound type without padding, for the file.
h5::Id packed(hid_t mem_type) {
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcopy(mem_type), "file type"));
  CRAMMER_H5(H5Tpack(t), "file type");
  return t;
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
  int64_t planned_tasks;
};

struct SampleRow {
  int64_t sample_id;
  int32_t model_index;
  const char* source;
  int64_t offset;
  int64_t text_offset;
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
  insert(t, "planned_tasks", offsetof(ModelRow, planned_tasks), H5T_NATIVE_INT64);
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
  insert(t, "text_offset", offsetof(SampleRow, text_offset), H5T_NATIVE_INT64);
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

h5::Id key_type() {
  h5::Id key = h5::string_type(kTaskKeyWidth);
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, sizeof(KeyRow)), "/results key type"));
  insert(t, "task_key", offsetof(KeyRow, task_key), key);
  insert(t, "length", offsetof(KeyRow, length), H5T_NATIVE_INT32);
  h5::Id status = status_type();
  insert(t, "status", offsetof(KeyRow, status), status);
  return t;
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
                      m.bos_token, m.planned_tasks});
    h5::append_rows(ds, mt, rows.data(), rows.size(), 0, path + ":/models");
  }
  {
    h5::Id mt = sample_type();
    h5::Id ft = packed(mt);
    h5::Id ds = h5::create_table(file, "samples", ft, 256);
    std::vector<SampleRow> rows;
    for (const auto& s : header.samples) {
      hvl_t ids{s.token_ids.size(), const_cast<int32_t*>(s.token_ids.data())};
      rows.push_back({s.sample_id, s.model_index, s.source.c_str(), s.offset, s.text_offset,
                      s.text_kind.c_str(), s.text.c_str(), ids});
    }
    h5::append_rows(ds, mt, rows.data(), rows.size(), 0, path + ":/samples");
  }
  {
    h5::Id mt = RowLayout::get().mem_type();
    h5::Id ft = packed(mt);
    h5::Id results = h5::create_table(file, "results", ft, kResultChunk);
    // The column list, so analysis reads the columns of this file rather than a list of its own.
    h5::write_string_attr(results, "columns", result_columns_json(), path + ":/results");
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
  {
    h5::Id group = h5::group_id(
        CRAMMER_H5(H5Gcreate2(file, "series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path + ":/series"));
    for (const auto& name : result_series()) h5::create_table(group, name, H5T_IEEE_F32LE, kCurveChunk);
  }
  return file;
}

RunHeader read_header(hid_t file, const std::string& path, int32_t* schema_version) {
  const std::string root = path + ":/";
  RunHeader h;
  if (!h5::has_attr(file, "schema_version", root))
    throw ResultsFileError(path + " is an HDF5 file but not a crammer results file (no root attribute "
                     "schema_version)");
  *schema_version = h5::read_int_attr(file, "schema_version", root);
  if (*schema_version > kSchemaVersion)
    throw ResultsFileError(path + " has schema_version " + std::to_string(*schema_version) +
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
    for (auto& r : rows) {  // files from before these columns: no BOS was added, total unknown
      r.bos_token = -1;
      r.planned_tasks = -1;
    }
    h5::read_rows(ds, mt, rows.data(), 0, n, where);
    for (const auto& r : rows)
      h.models.push_back({r.model_index, r.name ? r.name : "", r.path ? r.path : "",
                          r.dtype ? r.dtype : "", r.model_type ? r.model_type : "", r.d_model,
                          r.num_layers, r.vocab_size, r.n_params, r.bos_token, r.planned_tasks});
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
    for (auto& r : rows) r.text_offset = 0;  // files from before the column
    h5::read_rows(ds, mt, rows.data(), 0, n, where);
    for (const auto& r : rows) {
      SampleRecord s;
      s.sample_id = r.sample_id;
      s.model_index = r.model_index;
      s.source = r.source ? r.source : "";
      s.offset = r.offset;
      s.text_offset = r.text_offset;
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

std::string series_dataset(const std::string& name) { return "/series/" + name; }

namespace {

// The series of every row from /series/<name>; a file from before a series has no dataset for
// it and its rows keep them empty.
void read_series(hid_t file, const std::string& path, const std::vector<ArrayRefs>& raw,
                 std::vector<TaskResult>& rows) {
  const auto& names = result_series();
  for (size_t s = 0; s < names.size(); ++s) {
    const std::string name = series_dataset(names[s]);
    if (!h5::link_exists(file, "series") || !h5::link_exists(file, name)) continue;
    h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path + ":" + name));
    std::vector<float> all(h5::rows_of(ds, path + ":" + name));
    h5::read_rows(ds, H5T_NATIVE_FLOAT, all.data(), 0, all.size(), path + ":" + name);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (s >= raw[i].series.size()) continue;
      const SeriesRef& r = raw[i].series[s];
      if (r.offset < 0 || r.length <= 0) continue;
      const size_t end = static_cast<size_t>(r.offset) + static_cast<size_t>(r.length);
      if (end > all.size()) continue;  // not yet visible to a SWMR reader
      std::vector<float> values(all.begin() + r.offset, all.begin() + static_cast<std::ptrdiff_t>(end));
      size_t at = 0;
      visit_result_series(rows[i], [&](const char*, std::vector<float>& v) {
        if (at++ == s) v = std::move(values);
      });
    }
  }
}

}  // namespace

std::vector<TaskResult> read_results(hid_t file, const std::string& path, const RunHeader& header,
                                     ReadArrays arrays) {
  const std::string where = path + ":/results";
  h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "results", H5P_DEFAULT), where));
  const RowLayout& layout = RowLayout::get();
  h5::Id mt = layout.mem_type();
  hsize_t n = h5::rows_of(ds, where);
  std::vector<char> bytes(n * layout.row_size());
  // Columns an older file lacks keep these values (HDF5 converts by name).
  for (hsize_t i = 0; i < n; ++i) layout.encode_defaults(bytes.data() + i * layout.row_size());
  h5::read_rows(ds, mt, bytes.data(), 0, n, where);
  std::vector<TaskResult> rows;
  std::vector<ArrayRefs> raw(n);
  rows.reserve(n);
  for (hsize_t i = 0; i < n; ++i)
    rows.push_back(layout.decode(bytes.data() + i * layout.row_size(), &raw[i]));

  if (arrays.memory) {
    std::map<int32_t, std::string> names;
    for (const auto& m : header.models) names[m.model_index] = m.name;
    std::map<int32_t, std::pair<h5::Id, hsize_t>> sets;  // model_index -> (dataset, size)
    for (size_t i = 0; i < n; ++i) {
      const ArrayRefs& r = raw[i];
      if (r.memory_offset < 0 || r.memory_k <= 0 || r.memory_d <= 0) continue;
      const int32_t model_index = rows[i].model_index;
      auto name = names.find(model_index);
      if (name == names.end()) continue;
      auto it = sets.find(model_index);
      if (it == sets.end()) {
        const std::string dname = memory_dataset(name->second);
        h5::Id mds = h5::dataset_id(
            CRAMMER_H5(H5Dopen2(file, dname.c_str(), H5P_DEFAULT), path + ":" + dname));
        hsize_t size = h5::rows_of(mds, path + ":" + dname);
        it = sets.emplace(model_index, std::make_pair(std::move(mds), size)).first;
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
      const ArrayRefs& r = raw[i];
      if (r.curve_offset < 0 || r.curve_length <= 0) continue;
      size_t end = static_cast<size_t>(r.curve_offset) + static_cast<size_t>(r.curve_length);
      if (end > loss.size() || end > acc.size()) continue;
      rows[i].curve_loss.assign(loss.begin() + r.curve_offset, loss.begin() + end);
      rows[i].curve_acc.assign(acc.begin() + r.curve_offset, acc.begin() + end);
    }
  }
  if (arrays.series) read_series(file, path, raw, rows);
  return rows;
}

bool journal_holds_records(const std::string& path) {
  struct stat jst {};
  return ::stat(journal_path(path).c_str(), &jst) == 0 && jst.st_size > 16;  // more than its file header
}

std::string rebuild_advice(const std::string& path) {
  // The journal can rebuild the file only where one holds records; otherwise the advice would loop.
  const std::string journal = journal_path(path);
  if (journal_holds_records(path))
    return "If a run crashed while writing it, run it again with the same config: it rebuilds the file from " +
           journal + ".";
  return "There is no journal " + journal + " to rebuild it from: move the file away (or rerun `crammer run` with --fresh) to start over.";
}

std::string move_away_advice(const std::string& path) {
  if (journal_holds_records(path))
    return "Move it away and run the sweep again with the same config: the run rebuilds it from its journal " +
           journal_path(path) + ".";
  return "There is no journal " + journal_path(path) + " to rebuild it from: move the file away (or rerun `crammer run` with --fresh) to start over.";
}

h5::Id open_for_reading(const std::string& path) {
  h5::silence_errors();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ResultsFileError("results file " + path + " does not exist");
  if (S_ISDIR(st.st_mode)) throw ResultsFileError("results file " + path + " is a directory");
  // SWMR readers need no lock; without this a reader would be refused while a writer runs.
  h5::Id fapl = h5::plist_id(CRAMMER_H5(H5Pcreate(H5P_FILE_ACCESS), path));
  CRAMMER_H5(H5Pset_file_locking(fapl, false, true), path);
  // A corrupt checksum makes HDF5 re-read metadata up to this many times, sleeping between
  // tries (SWMR's default of 100 kept a damaged file's reader busy for minutes).
  CRAMMER_H5(H5Pset_metadata_read_attempts(fapl, kMetadataReadAttempts), path);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
  if (id >= 0) return h5::file_id(id);
  std::string swmr_stack = h5::error_stack();
  id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  if (id >= 0) return h5::file_id(id);
  const std::string advice = rebuild_advice(path);
  throw ResultsFileError("cannot open results file " + path + ": not an HDF5 file or damaged. " + advice +
                         "\nHDF5 error stack (SWMR read):\n" + swmr_stack + "\nHDF5 error stack (read-only):\n" +
                         h5::error_stack());
}

}  // namespace crammer::schema
