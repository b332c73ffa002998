// The one wrapper over the HDF5 C calls the store uses: every call goes through CRAMMER_H5,
// which throws StoreError with file:line, the operation, the object path and HDF5's own error
// stack. RAII ids close themselves. Private to src/store (HDF5 stays out of public headers).
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

namespace crammer::h5 {

// Turns off HDF5's printing of error stacks to stderr (we put them in the exception instead).
void silence_errors();

// HDF5's current error stack as text (H5Ewalk2), one frame per line; clears the stack.
std::string error_stack();

[[noreturn]] void fail(const char* file, int line, const char* call, const std::string& object);

template <class T>
T check(T result, const char* file, int line, const char* call, const std::string& object) {
  if (result < 0) fail(file, line, call, object);
  return result;
}

// CRAMMER_H5(H5Dopen2(f, "results", H5P_DEFAULT), "/results"): returns the call's value.
#define CRAMMER_H5(call, object) ::crammer::h5::check((call), __FILE__, __LINE__, #call, (object))

// An owned hid_t, closed with the matching H5?close.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Id(Id&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();               // closes, ignoring errors (destructor path)
  void close(const std::string& object);  // closes, throwing on error

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

Id file_id(hid_t id);
Id dataset_id(hid_t id);
Id group_id(hid_t id);
Id type_id(hid_t id);
Id space_id(hid_t id);
Id plist_id(hid_t id);
Id attr_id(hid_t id);

// Small helpers, all checked.
Id string_type(size_t width);  // fixed-length, null-terminated C string
Id vlen_string_type();
Id bool_type();                // enum int8 FALSE=0 TRUE=1 (what h5py reads as numpy bool)

void write_string_attr(hid_t obj, const std::string& name, const std::string& value,
                       const std::string& where);
void write_int_attr(hid_t obj, const std::string& name, int32_t value, const std::string& where);
bool has_attr(hid_t obj, const std::string& name, const std::string& where);
std::string read_string_attr(hid_t obj, const std::string& name, const std::string& where);
int32_t read_int_attr(hid_t obj, const std::string& name, const std::string& where);
std::vector<std::string> attr_names(hid_t obj, const std::string& where);

bool link_exists(hid_t loc, const std::string& name);
// Number of rows (dimension 0) of a dataset.
hsize_t rows_of(hid_t dataset, const std::string& where);
// Creates a 1-D, unlimited, chunked, shuffle+deflate dataset of `type`.
Id create_table(hid_t loc, const std::string& name, hid_t type, hsize_t chunk_rows);
// Grows a 1-D dataset by `n` elements of `mem_type` from `data`; returns the old size.
hsize_t append_rows(hid_t dataset, hid_t mem_type, const void* data, hsize_t n, hsize_t old_size,
                    const std::string& where);
// Reads elements [begin, begin + n) of a 1-D dataset into `data`.
void read_rows(hid_t dataset, hid_t mem_type, void* data, hsize_t begin, hsize_t n,
               const std::string& where);

}  // namespace crammer::h5
