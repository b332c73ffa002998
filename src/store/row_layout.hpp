// The HDF5 /results row, laid out from the column list (core/result_columns.hpp): the compound
// type and the TaskResult <-> row bytes codec. A new field of the field list becomes a column
// here with no edit. Private to src/store.
#pragma once

#include <string>
#include <vector>

#include "crammer/core/result.hpp"
#include "crammer/core/result_columns.hpp"
#include "h5.hpp"

namespace crammer::schema {

// Where a row's series lies in /series/<name>.
struct SeriesRef {
  int64_t offset = -1;  // -1: none
  int32_t length = 0;
};

// Where a row's arrays lie in /memory/<model>, /curves/{loss,acc} and /series/<name>.
struct ArrayRefs {
  int64_t memory_offset = -1;  // -1: none
  int32_t memory_k = 0;
  int32_t memory_d = 0;
  int64_t curve_offset = -1;   // -1: none
  int32_t curve_length = 0;
  std::vector<SeriesRef> series;  // per series of the field list, in its order (result_series())
};

// The /results status column's type: an int8 enum naming every TaskStatus.
h5::Id status_type();

class RowLayout {
 public:
  static const RowLayout& get();  // built once from result_columns()

  size_t row_size() const { return size_; }
  const std::vector<size_t>& offsets() const { return offsets_; }  // per column of result_columns()
  h5::Id mem_type() const;  // the compound type of a row in memory

  // Throws StoreError (naming `where`) when the task key does not fit; cuts device and error
  // text. The arrays' data are written elsewhere; `refs` says where (offsets only).
  void encode(const TaskResult& r, const ArrayRefs& refs, char* row, const std::string& where) const;
  // The row of a default TaskResult (what columns an older file lacks read as).
  void encode_defaults(char* row) const;
  // The row without its arrays (memory, curves left empty); `refs` gets where they lie.
  TaskResult decode(const char* row, ArrayRefs* refs) const;

 private:
  RowLayout();
  std::vector<size_t> offsets_;
  size_t size_ = 0;
};

}  // namespace crammer::schema
