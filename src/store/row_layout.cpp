// The /results row codec, driven by the field list (see row_layout.hpp).
#include "row_layout.hpp"

#include <cstring>

#include "crammer/core/result_fields.hpp"
#include "crammer/util/error.hpp"

namespace crammer::schema {

namespace {

size_t column_size(const ResultColumn& c) {
  switch (c.type) {
    case ColumnType::text: return static_cast<size_t>(c.width);
    case ColumnType::i32: return 4;
    case ColumnType::i64: return 8;
    case ColumnType::f64: return 8;
    case ColumnType::flag: return 1;
    case ColumnType::status: return 1;
  }
  return 0;
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

// Walks the field list and the columns in step: column `c` is the next one a field stores.
struct Walk {
  const std::vector<size_t>& offsets;
  size_t c = 0;
  void section(const char*) {}
  void since(int) {}
  size_t next() { return offsets[c++]; }
};

struct Encoder : Walk {
  char* row;
  const ArrayRefs& refs;
  template <class T>
  void put(const T& v) {
    std::memcpy(row + next(), &v, sizeof v);
  }
  void text(const char*, const std::string& s, int width) {
    copy_text(row + next(), static_cast<size_t>(width), s);
  }
  template <class T>
  void num(const char*, const T& v) { put(v); }
  void flag(const char*, bool b) { put<int8_t>(b ? 1 : 0); }
  void status(const char*, TaskStatus s) {
    put(static_cast<int8_t>(s));
    copy_text(row + next(), 8, to_string(s));
  }
  void matrix(const char*, const std::vector<float>& v, int32_t cols) {
    const bool has = !v.empty() && cols > 0;
    put<int64_t>(has ? refs.memory_offset : -1);
    put<int32_t>(has ? static_cast<int32_t>(v.size() / static_cast<size_t>(cols)) : 0);
    put<int32_t>(has ? cols : 0);
  }
  void curves(const char*, const std::vector<float>& loss, const std::vector<float>&) {
    put<int64_t>(loss.empty() ? -1 : refs.curve_offset);
    put<int32_t>(static_cast<int32_t>(loss.size()));
  }
  size_t series_index = 0;
  void series(const char*, const std::vector<float>& v) {
    const size_t i = series_index++;
    const bool has = !v.empty() && i < refs.series.size() && refs.series[i].offset >= 0;
    put<int64_t>(has ? refs.series[i].offset : -1);
    put<int32_t>(has ? static_cast<int32_t>(v.size()) : 0);
  }
};

struct Decoder : Walk {
  const char* row;
  ArrayRefs& refs;
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, row + next(), sizeof v);
    return v;
  }
  void text(const char*, std::string& s, int width) {
    const char* p = row + next();
    s.assign(p, strnlen(p, static_cast<size_t>(width)));
  }
  template <class T>
  void num(const char*, T& v) { v = get<T>(); }
  void flag(const char*, bool& b) { b = get<int8_t>() != 0; }
  void status(const char*, TaskStatus& s) {
    s = static_cast<TaskStatus>(get<int8_t>());
    next();  // the name column
  }
  void matrix(const char*, std::vector<float>&, int32_t&) {
    refs.memory_offset = get<int64_t>();
    refs.memory_k = get<int32_t>();
    refs.memory_d = get<int32_t>();
  }
  void curves(const char*, std::vector<float>&, std::vector<float>&) {
    refs.curve_offset = get<int64_t>();
    refs.curve_length = get<int32_t>();
  }
  void series(const char*, std::vector<float>&) {
    SeriesRef r;
    r.offset = get<int64_t>();
    r.length = get<int32_t>();
    refs.series.push_back(r);
  }
};

}  // namespace

h5::Id status_type() {
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tenum_create(H5T_NATIVE_INT8), "status type"));
  for (TaskStatus s : kTaskStatuses) {
    auto v = static_cast<int8_t>(s);
    CRAMMER_H5(H5Tenum_insert(t, to_string(s), &v), "status type");
  }
  return t;
}

RowLayout::RowLayout() {
  for (const auto& c : result_columns()) {
    size_t n = column_size(c);
    size_t align = c.type == ColumnType::text ? 1 : n;
    size_ = (size_ + align - 1) / align * align;
    offsets_.push_back(size_);
    size_ += n;
  }
  size_ = (size_ + 7) / 8 * 8;
}

const RowLayout& RowLayout::get() {
  static const RowLayout layout;
  return layout;
}

h5::Id RowLayout::mem_type() const {
  h5::Id t = h5::type_id(CRAMMER_H5(H5Tcreate(H5T_COMPOUND, size_), "/results type"));
  const auto& cols = result_columns();
  for (size_t i = 0; i < cols.size(); ++i) {
    const auto& c = cols[i];
    h5::Id owned;
    hid_t type = -1;
    switch (c.type) {
      case ColumnType::text: owned = h5::string_type(static_cast<size_t>(c.width)); break;
      case ColumnType::i32: type = H5T_NATIVE_INT32; break;
      case ColumnType::i64: type = H5T_NATIVE_INT64; break;
      case ColumnType::f64: type = H5T_NATIVE_DOUBLE; break;
      case ColumnType::flag: owned = h5::bool_type(); break;
      case ColumnType::status: owned = status_type(); break;
    }
    if (owned.valid()) type = owned;
    CRAMMER_H5(H5Tinsert(t, c.name.c_str(), offsets_[i], type), "compound field " + c.name);
  }
  return t;
}

void RowLayout::encode(const TaskResult& r, const ArrayRefs& refs, char* row,
                       const std::string& where) const {
  if (r.task_key.empty() || r.task_key.size() >= static_cast<size_t>(kTaskKeyWidth))
    throw StoreError(where + ": task key '" + r.task_key + "' must be 1.." +
                     std::to_string(kTaskKeyWidth - 1) + " bytes (it has " +
                     std::to_string(r.task_key.size()) + ")");
  std::memset(row, 0, size_);
  Encoder v{{offsets_}, row, refs};
  visit_result_fields(v, r);
}

void RowLayout::encode_defaults(char* row) const {
  std::memset(row, 0, size_);
  const TaskResult blank;
  const ArrayRefs none;
  Encoder v{{offsets_}, row, none};
  visit_result_fields(v, blank);
}

TaskResult RowLayout::decode(const char* row, ArrayRefs* refs) const {
  TaskResult r;
  ArrayRefs local;
  Decoder v{{offsets_}, row, refs ? *refs : local};
  visit_result_fields(v, r);
  return r;
}

}  // namespace crammer::schema
