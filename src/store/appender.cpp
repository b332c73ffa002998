// Writing rows and arrays into an open results file, and marking rows superseded (appender.hpp).
#include "appender.hpp"

#include "crammer/core/result_columns.hpp"
#include "crammer/core/result_fields.hpp"
#include "row_layout.hpp"
#include "schema.hpp"

namespace crammer::store {


Appender::Appender(hid_t file, const std::string& path, const RunHeader& header) : path_(path) {
  results_ = open(file, "/results");
  rows_ = h5::rows_of(results_, path + ":/results");
  loss_ = open(file, "/curves/loss");
  acc_ = open(file, "/curves/acc");
  curve_size_ = h5::rows_of(loss_, path + ":/curves/loss");
  for (const auto& m : header.models) {
    Memory mem;
    mem.name = schema::memory_dataset(m.name);
    mem.dataset = open(file, mem.name);
    mem.size = h5::rows_of(mem.dataset, path + ":" + mem.name);
    memory_.emplace(m.model_index, std::move(mem));
  }
  for (const auto& name : result_series()) {
    Memory series;
    series.name = schema::series_dataset(name);
    series.dataset = open(file, series.name);
    series.size = h5::rows_of(series.dataset, path + ":" + series.name);
    series_.push_back(std::move(series));
  }
  row_type_ = schema::RowLayout::get().mem_type();
}

void Appender::append(const std::vector<TaskResult>& rows) {
  if (rows.empty()) return;
  const schema::RowLayout& layout = schema::RowLayout::get();
  std::vector<char> out(rows.size() * layout.row_size());
  size_t n = 0;
  std::map<int32_t, std::vector<float>> memory;  // model_index -> concatenated [k, d] blocks
  std::vector<float> loss, acc;
  std::vector<std::vector<float>> series(series_.size());  // per series, the rows' values
  for (const auto& r : rows) {
    int64_t mem_offset = -1;
    if (!r.memory.empty()) {
      auto& buf = memory[r.model_index];
      mem_offset = static_cast<int64_t>(memory_.at(r.model_index).size + buf.size());
      buf.insert(buf.end(), r.memory.begin(), r.memory.end());
    }
    int64_t curve_offset = static_cast<int64_t>(curve_size_ + loss.size());
    loss.insert(loss.end(), r.curve_loss.begin(), r.curve_loss.end());
    acc.insert(acc.end(), r.curve_acc.begin(), r.curve_acc.end());
    schema::ArrayRefs refs;
    refs.memory_offset = mem_offset;
    refs.curve_offset = curve_offset;
    size_t s = 0;
    visit_result_series(r, [&](const char*, const std::vector<float>& values) {
      refs.series.push_back({static_cast<int64_t>(series_[s].size + series[s].size()),
                             static_cast<int32_t>(values.size())});
      series[s].insert(series[s].end(), values.begin(), values.end());
      ++s;
    });
    layout.encode(r, refs, out.data() + (n++) * layout.row_size(), path_);
  }
  // Arrays first, rows last: a reader that sees a row finds its arrays (after a flush).
  for (auto& [index, buf] : memory) {
    Memory& mem = memory_.at(index);
    h5::append_rows(mem.dataset, H5T_NATIVE_FLOAT, buf.data(), buf.size(), mem.size, path_ + ":" + mem.name);
    mem.size += buf.size();
  }
  if (!loss.empty()) {
    h5::append_rows(loss_, H5T_NATIVE_FLOAT, loss.data(), loss.size(), curve_size_, path_ + ":/curves/loss");
    h5::append_rows(acc_, H5T_NATIVE_FLOAT, acc.data(), acc.size(), curve_size_, path_ + ":/curves/acc");
    curve_size_ += loss.size();
  }
  for (size_t s = 0; s < series_.size(); ++s) {
    if (series[s].empty()) continue;
    Memory& out = series_[s];
    h5::append_rows(out.dataset, H5T_NATIVE_FLOAT, series[s].data(), series[s].size(), out.size, path_ + ":" + out.name);
    out.size += series[s].size();
  }
  h5::append_rows(results_, row_type_, out.data(), n, rows_, path_ + ":/results");
  rows_ += n;
}

void Appender::set_status(const std::vector<uint64_t>& rows, TaskStatus status) {
  if (rows.empty()) return;
  const std::string where = path_ + ":/results (status of " + std::to_string(rows.size()) + " rows)";
  // A compound of the status member alone: HDF5 writes that member and leaves the rest of each row.
  h5::Id status_only = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, 1), where));
  h5::Id enum_type = schema::status_type();
  CRAMMER_H5(H5Tinsert(status_only, "status", 0, enum_type), where);
  std::vector<hsize_t> coords(rows.begin(), rows.end());
  h5::Id fspace = h5::space_id(CRAMMER_H5(H5Dget_space(results_), where));
  CRAMMER_H5(H5Sselect_elements(fspace, H5S_SELECT_SET, coords.size(), coords.data()), where);
  const hsize_t n = coords.size();
  h5::Id mspace = h5::space_id(CRAMMER_H5(H5Screate_simple(1, &n, nullptr), where));
  std::vector<int8_t> values(rows.size(), static_cast<int8_t>(status));
  CRAMMER_H5(H5Dwrite(results_, status_only, mspace, fspace, H5P_DEFAULT, values.data()), where);
}

void Appender::close() {
  for (auto& [index, mem] : memory_) mem.dataset.close(path_ + ":" + mem.name);
  for (auto& series : series_) series.dataset.close(path_ + ":" + series.name);
  loss_.close(path_ + ":/curves/loss");
  acc_.close(path_ + ":/curves/acc");
  results_.close(path_ + ":/results");
}

h5::Id Appender::open(hid_t file, const std::string& name) {
  return h5::dataset_id(CRAMMER_H5(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path_ + ":" + name));
}

namespace {

// Whether the /results status type of an open file names every TaskStatus.
bool status_type_complete(hid_t file, const std::string& path) {
  const std::string where = path + ":/results status type";
  h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "results", H5P_DEFAULT), where));
  h5::Id row = h5::type_id(CRAMMER_H5(H5Dget_type(ds), where));
  const int member = CRAMMER_H5(H5Tget_member_index(row, "status"), where);
  h5::Id status = h5::type_id(CRAMMER_H5(H5Tget_member_type(row, static_cast<unsigned>(member)), where));
  for (TaskStatus s : kTaskStatuses) {
    int8_t value = 0;
    if (H5Tenum_valueof(status, to_string(s), &value) < 0 || value != static_cast<int8_t>(s)) return false;
  }
  return true;
}

}  // namespace

bool layout_current(hid_t file, const std::string& path) {
  for (const auto& name : result_series())
    if (!h5::link_exists(file, "series") || !h5::link_exists(file, schema::series_dataset(name))) return false;
  return status_type_complete(file, path);
}

}  // namespace crammer::store
