// Checked HDF5 calls and RAII ids (see h5.hpp).
#include "h5.hpp"

#include <cstring>

#include "crammer/util/error.hpp"

namespace crammer::h5 {

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {

herr_t walk_frame(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  char major[128] = "";
  char minor[128] = "";
  H5Eget_msg(err->maj_num, nullptr, major, sizeof major);
  H5Eget_msg(err->min_num, nullptr, minor, sizeof minor);
  *out += "  #" + std::to_string(n) + " " + (err->func_name ? err->func_name : "?") + "(): " +
          (err->desc ? err->desc : "") + " [" + major + ": " + minor + "]\n";
  return 0;
}

// The operation's name: the C call up to its argument list.
std::string op_name(const char* call) {
  std::string s(call);
  auto paren = s.find('(');
  return paren == std::string::npos ? s : s.substr(0, paren);
}

}  // namespace

std::string error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_frame, &text);
  H5Eclear2(H5E_DEFAULT);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text.empty() ? "  (HDF5 reported no error stack)" : text;
}

void fail(const char* file, int line, const char* call, const std::string& object) {
  const char* base = std::strrchr(file, '/');
  throw StoreError(std::string(base ? base + 1 : file) + ":" + std::to_string(line) + ": HDF5 " +
                   op_name(call) + " failed on " + object + "\nHDF5 error stack:\n" +
                   error_stack());
}

Id& Id::operator=(Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = -1;
  }
  return *this;
}

void Id::reset() {
  if (id_ >= 0 && closer_) {
    if (closer_(id_) < 0) H5Eclear2(H5E_DEFAULT);
  }
  id_ = -1;
}

void Id::close(const std::string& object) {
  if (id_ < 0) return;
  hid_t id = id_;
  id_ = -1;
  CRAMMER_H5(closer_(id), object);
}

Id file_id(hid_t id) { return Id(id, H5Fclose); }
Id dataset_id(hid_t id) { return Id(id, H5Dclose); }
Id group_id(hid_t id) { return Id(id, H5Gclose); }
Id type_id(hid_t id) { return Id(id, H5Tclose); }
Id space_id(hid_t id) { return Id(id, H5Sclose); }
Id plist_id(hid_t id) { return Id(id, H5Pclose); }
Id attr_id(hid_t id) { return Id(id, H5Aclose); }

Id string_type(size_t width) {
  Id t = type_id(CRAMMER_H5(H5Tcopy(H5T_C_S1), "string type"));
  CRAMMER_H5(H5Tset_size(t, width), "string type");
  CRAMMER_H5(H5Tset_strpad(t, H5T_STR_NULLTERM), "string type");
  CRAMMER_H5(H5Tset_cset(t, H5T_CSET_UTF8), "string type");
  return t;
}

Id vlen_string_type() {
  Id t = type_id(CRAMMER_H5(H5Tcopy(H5T_C_S1), "vlen string type"));
  CRAMMER_H5(H5Tset_size(t, H5T_VARIABLE), "vlen string type");
  CRAMMER_H5(H5Tset_cset(t, H5T_CSET_UTF8), "vlen string type");
  return t;
}

Id bool_type() {
  Id t = type_id(CRAMMER_H5(H5Tenum_create(H5T_NATIVE_INT8), "bool type"));
  int8_t v = 0;
  CRAMMER_H5(H5Tenum_insert(t, "FALSE", &v), "bool type");
  v = 1;
  CRAMMER_H5(H5Tenum_insert(t, "TRUE", &v), "bool type");
  return t;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value,
                       const std::string& where) {
  const std::string what = where + " attribute " + name;
  Id type = vlen_string_type();
  Id space = space_id(CRAMMER_H5(H5Screate(H5S_SCALAR), what));
  Id attr = attr_id(CRAMMER_H5(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), what));
  const char* p = value.c_str();
  CRAMMER_H5(H5Awrite(attr, type, &p), what);
}

void write_int_attr(hid_t obj, const std::string& name, int32_t value, const std::string& where) {
  const std::string what = where + " attribute " + name;
  Id space = space_id(CRAMMER_H5(H5Screate(H5S_SCALAR), what));
  Id attr = attr_id(CRAMMER_H5(H5Acreate2(obj, name.c_str(), H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), what));
  CRAMMER_H5(H5Awrite(attr, H5T_NATIVE_INT32, &value), what);
}

bool has_attr(hid_t obj, const std::string& name, const std::string& where) {
  return CRAMMER_H5(H5Aexists(obj, name.c_str()), where + " attribute " + name) > 0;
}

std::string read_string_attr(hid_t obj, const std::string& name, const std::string& where) {
  const std::string what = where + " attribute " + name;
  Id attr = attr_id(CRAMMER_H5(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
  Id ftype = type_id(CRAMMER_H5(H5Aget_type(attr), what));
  if (CRAMMER_H5(H5Tget_class(ftype), what) != H5T_STRING)
    throw StoreError(what + " is not a string");
  if (CRAMMER_H5(H5Tis_variable_str(ftype), what) > 0) {
    Id type = vlen_string_type();
    char* p = nullptr;
    CRAMMER_H5(H5Aread(attr, type, &p), what);
    std::string s = p ? p : "";
    Id space = space_id(CRAMMER_H5(H5Aget_space(attr), what));
    CRAMMER_H5(H5Dvlen_reclaim(type, space, H5P_DEFAULT, &p), what);
    return s;
  }
  size_t n = H5Tget_size(ftype);
  Id type = string_type(n + 1);
  std::vector<char> buf(n + 1, '\0');
  CRAMMER_H5(H5Aread(attr, type, buf.data()), what);
  return std::string(buf.data());
}

int32_t read_int_attr(hid_t obj, const std::string& name, const std::string& where) {
  const std::string what = where + " attribute " + name;
  Id attr = attr_id(CRAMMER_H5(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
  int32_t v = 0;
  CRAMMER_H5(H5Aread(attr, H5T_NATIVE_INT32, &v), what);
  return v;
}

namespace {
herr_t collect_attr(hid_t, const char* name, const H5A_info_t*, void* op_data) {
  static_cast<std::vector<std::string>*>(op_data)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attr_names(hid_t obj, const std::string& where) {
  std::vector<std::string> names;
  CRAMMER_H5(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr, &names),
             where + " attributes");
  return names;
}

bool link_exists(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

hsize_t rows_of(hid_t dataset, const std::string& where) {
  Id space = space_id(CRAMMER_H5(H5Dget_space(dataset), where));
  hsize_t dims[1] = {0};
  if (CRAMMER_H5(H5Sget_simple_extent_ndims(space), where) != 1)
    throw StoreError(where + ": expected a 1-D dataset");
  CRAMMER_H5(H5Sget_simple_extent_dims(space, dims, nullptr), where);
  return dims[0];
}

Id create_table(hid_t loc, const std::string& name, hid_t type, hsize_t chunk_rows) {
  hsize_t dims[1] = {0};
  hsize_t maxdims[1] = {H5S_UNLIMITED};
  hsize_t chunk[1] = {chunk_rows};
  Id space = space_id(CRAMMER_H5(H5Screate_simple(1, dims, maxdims), name));
  Id dcpl = plist_id(CRAMMER_H5(H5Pcreate(H5P_DATASET_CREATE), name));
  CRAMMER_H5(H5Pset_chunk(dcpl, 1, chunk), name);
  CRAMMER_H5(H5Pset_shuffle(dcpl), name);
  CRAMMER_H5(H5Pset_deflate(dcpl, 4), name);
  return dataset_id(CRAMMER_H5(
      H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), name));
}

hsize_t append_rows(hid_t dataset, hid_t mem_type, const void* data, hsize_t n, hsize_t old_size,
                    const std::string& where) {
  if (n == 0) return old_size;
  hsize_t new_size[1] = {old_size + n};
  CRAMMER_H5(H5Dset_extent(dataset, new_size), where);
  Id fspace = space_id(CRAMMER_H5(H5Dget_space(dataset), where));
  hsize_t start[1] = {old_size};
  hsize_t count[1] = {n};
  CRAMMER_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), where);
  Id mspace = space_id(CRAMMER_H5(H5Screate_simple(1, count, nullptr), where));
  CRAMMER_H5(H5Dwrite(dataset, mem_type, mspace, fspace, H5P_DEFAULT, data), where);
  return old_size;
}

void read_rows(hid_t dataset, hid_t mem_type, void* data, hsize_t begin, hsize_t n,
               const std::string& where) {
  if (n == 0) return;
  Id fspace = space_id(CRAMMER_H5(H5Dget_space(dataset), where));
  hsize_t start[1] = {begin};
  hsize_t count[1] = {n};
  CRAMMER_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), where);
  Id mspace = space_id(CRAMMER_H5(H5Screate_simple(1, count, nullptr), where));
  CRAMMER_H5(H5Dread(dataset, mem_type, mspace, fspace, H5P_DEFAULT, data), where);
}

}  // namespace crammer::h5
