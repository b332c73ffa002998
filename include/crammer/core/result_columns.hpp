// The columns of a stored result row, derived from the field list (core/result_fields.hpp):
// what the HDF5 /results table holds, what `crammer export` prints and what the results file
// tells analysis about its own columns (the /results attribute `columns`). A status field adds
// its name as a second column; a matrix stores where its data lies (offset) and its shape; the
// curves and a series store where they lie and their length.
#pragma once

#include <string>
#include <vector>

namespace crammer {

enum class ColumnType { text, i32, i64, f64, flag, status };

struct ResultColumn {
  std::string name;
  ColumnType type = ColumnType::i32;
  int width = 0;          // bytes of a text column, with its NUL
  std::string section;    // key | metric | provenance | array | storage
  bool in_csv = true;     // storage offsets and the status name (csv prints the name) are not
};

// In file order. Built once.
const std::vector<ResultColumn>& result_columns();

// The names of the field list's series, in its order (each stored in /series/<name>).
const std::vector<std::string>& result_series();

// The JSON text of the /results attribute `columns`: [{"name", "type", "section"}, ...].
std::string result_columns_json();

const char* to_string(ColumnType t);

}  // namespace crammer
