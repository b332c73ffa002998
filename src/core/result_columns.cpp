// Columns of a stored result row, from the field list (see crammer/core/result_columns.hpp).
#include "crammer/core/result_columns.hpp"

#include "crammer/core/result_fields.hpp"

namespace crammer {

namespace {

struct ColumnLister {
  std::vector<ResultColumn> out;
  std::string current = "key";
  void add(std::string name, ColumnType t, int width = 0, const char* section = nullptr,
           bool csv = true) {
    out.push_back({std::move(name), t, width, section ? section : current, csv});
  }
  void section(const char* s) { current = s; }
  void since(int) {}
  void text(const char* f, const std::string&, int width) { add(f, ColumnType::text, width); }
  void num(const char* f, const int32_t&) { add(f, ColumnType::i32); }
  void num(const char* f, const int64_t&) { add(f, ColumnType::i64); }
  void num(const char* f, const double&) { add(f, ColumnType::f64); }
  void flag(const char* f, const bool&) { add(f, ColumnType::flag); }
  void status(const char* f, const TaskStatus&) {
    add(f, ColumnType::status);
    add(std::string(f) + "_name", ColumnType::text, 8, nullptr, false);
  }
  void matrix(const char* f, const std::vector<float>&, const int32_t&) {
    add(std::string(f) + "_offset", ColumnType::i64, 0, "storage", false);
    add(std::string(f) + "_k", ColumnType::i32);
    add(std::string(f) + "_d", ColumnType::i32);
  }
  void curves(const char* f, const std::vector<float>&, const std::vector<float>&) {
    add(std::string(f) + "_offset", ColumnType::i64, 0, "storage", false);
    add(std::string(f) + "_length", ColumnType::i32);
  }
  void series(const char* f, const std::vector<float>&) {
    add(std::string(f) + "_offset", ColumnType::i64, 0, "storage", false);
    add(std::string(f) + "_length", ColumnType::i32);
  }
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

const char* to_string(ColumnType t) {
  switch (t) {
    case ColumnType::text: return "text";
    case ColumnType::i32: return "int32";
    case ColumnType::i64: return "int64";
    case ColumnType::f64: return "float64";
    case ColumnType::flag: return "bool";
    case ColumnType::status: return "status";
  }
  return "unknown";
}

const std::vector<ResultColumn>& result_columns() {
  static const std::vector<ResultColumn> columns = [] {
    ColumnLister v;
    const TaskResult x;
    visit_result_fields(v, x);
    return v.out;
  }();
  return columns;
}

const std::vector<std::string>& result_series() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    const TaskResult x;
    visit_result_series(x, [&](const char* name, const std::vector<float>&) { out.emplace_back(name); });
    return out;
  }();
  return names;
}

std::string result_columns_json() {
  std::string out = "[";
  for (const auto& c : result_columns()) {
    if (out.size() > 1) out += ",";
    out += "{\"name\":" + json_string(c.name) + ",\"type\":" + json_string(to_string(c.type)) +
           ",\"section\":" + json_string(c.section) + "}";
  }
  return out + "]";
}

}  // namespace crammer
