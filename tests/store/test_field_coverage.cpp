// Every field of the field list (core/result_fields.hpp) in every codec and column list: the
// byte codec of the wire and the journal, the HDF5 /results row (written and read back), the
// /results `columns` attribute analysis reads, and `crammer export`'s CSV. Each field gets a
// distinct non-default value, so a codec that drops or swaps one fails here by name.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "crammer/core/result_codec.hpp"
#include "crammer/core/result_columns.hpp"
#include "crammer/core/result_fields.hpp"
#include "crammer/store/export.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "crammer/util/error.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

// Gives every field its own value.
struct Fill {
  int n = 7;
  void section(const char*) {}
  void since(int) {}
  void text(const char* f, std::string& s, int) { s = std::string(f) + "-" + std::to_string(n++); }
  void num(const char*, int32_t& v) { v = n++; }
  void num(const char*, int64_t& v) { v = (int64_t(1) << 33) + n++; }
  void num(const char*, double& v) { v = n++ + 0.375; }
  void flag(const char*, bool& b) { b = true; }
  void status(const char*, TaskStatus& s) { s = TaskStatus::skipped; }
  void matrix(const char*, std::vector<float>& v, int32_t& cols) {
    cols = 3;
    v = {1.5f, -2, 3, 4, 5, 6.25f};
  }
  void curves(const char*, std::vector<float>& loss, std::vector<float>& acc) {
    loss = {9, 8.5f};
    acc = {0.25f, 0.5f};
  }
  void series(const char*, std::vector<float>& v) { v = {0.125f, 0.5f, 0.75f}; }
};

// Every field as name -> text, so two results compare field by field.
struct Dump {
  std::map<std::string, std::string> out;
  void section(const char*) {}
  void since(int) {}
  void text(const char* f, const std::string& s, int) { out[f] = s; }
  template <class T>
  void num(const char* f, const T& v) { out[f] = std::to_string(v); }
  void flag(const char* f, bool b) { out[f] = b ? "true" : "false"; }
  void status(const char* f, TaskStatus s) { out[f] = to_string(s); }
  void matrix(const char* f, const std::vector<float>& v, int32_t cols) {
    std::string s = std::to_string(cols) + ":";
    for (float x : v) s += std::to_string(x) + " ";
    out[f] = s;
  }
  void curves(const char* f, const std::vector<float>& loss, const std::vector<float>& acc) {
    std::string s;
    for (float x : loss) s += std::to_string(x) + " ";
    s += "|";
    for (float x : acc) s += std::to_string(x) + " ";
    out[f] = s;
  }
  void series(const char* f, const std::vector<float>& v) {
    std::string s;
    for (float x : v) s += std::to_string(x) + " ";
    out[f] = s;
  }
};

std::map<std::string, std::string> dump(const TaskResult& r) {
  Dump d;
  visit_result_fields(d, r);
  return d.out;
}

TaskResult filled() {
  TaskResult r;
  Fill f;
  visit_result_fields(f, r);
  r.task_key = "key-of-every-field";
  r.model_index = 1;  // must name a model of the file
  return r;
}

void expect_same_fields(const TaskResult& want, const TaskResult& got, const std::string& codec) {
  auto a = dump(want), b = dump(got);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, value] : a) EXPECT_EQ(b[name], value) << codec << " loses field " << name;
}

[[noreturn]] void fail(const std::string& m) { throw StoreError(m); }

TEST(FieldCoverage, FilledResultDiffersFromDefaultInEveryField) {
  auto a = dump(filled()), b = dump(TaskResult{});
  for (const auto& [name, value] : a) EXPECT_NE(b[name], value) << name;
}

TEST(FieldCoverage, ByteCodecOfWireAndJournalCarriesEveryField) {
  TaskResult r = filled();
  ByteWriter w;
  write_result(w, r);
  std::vector<char> bytes = w.release();
  ByteReader in(bytes.data(), bytes.size(), "test", fail);
  expect_same_fields(r, read_result(in), "byte codec");
  EXPECT_TRUE(in.at_end());
}

TEST(FieldCoverage, ResultsFileCarriesEveryFieldAndListsEveryColumn) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  TaskResult r = filled();
  r.d_model = 4;  // model 1 of make_models has d_model 4: [k, 4] memory
  r.memory = {1, 2, 3, 4, 5, 6, 7, 8};
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    w.append({r});
    w.close();
  }
  ReadOptions arrays;
  arrays.memory = arrays.curves = arrays.series = true;
  ResultsReader reader(path, arrays);
  ASSERT_EQ(reader.rows().size(), 1u);
  expect_same_fields(r, reader.rows()[0], "HDF5 /results");

  // The file's compound type and its `columns` attribute name every column of the list.
  const char* script = R"PY(
import sys, json, h5py
f = h5py.File(sys.argv[1], "r")
d = f["results"]
print(",".join(d.dtype.names))
print(",".join(c["name"] for c in json.loads(d.attrs["columns"])))
)PY";
  std::istringstream lines(test::run_python(script, path));
  std::string dtype_names, attr_names, want;
  std::getline(lines, dtype_names);
  std::getline(lines, attr_names);
  for (const auto& c : result_columns()) want += (want.empty() ? "" : ",") + c.name;
  EXPECT_EQ(dtype_names, want);
  EXPECT_EQ(attr_names, want);

  // The CSV has every column meant for it, with the row's values.
  std::ostringstream csv;
  write_csv(path, csv);
  std::istringstream csv_lines(csv.str());
  std::string header, row;
  std::getline(csv_lines, header);
  std::getline(csv_lines, row);
  std::map<std::string, std::string> cell;
  std::istringstream hs(header), rs(row);
  for (std::string h, v; std::getline(hs, h, ',') && std::getline(rs, v, ',');) cell[h] = v;
  auto fields = dump(r);
  for (const auto& c : result_columns()) {
    if (!c.in_csv) continue;
    ASSERT_TRUE(cell.count(c.name)) << "CSV lacks column " << c.name << ": " << header;
    if (c.type == ColumnType::f64) {
      EXPECT_EQ(std::stod(cell[c.name]), std::stod(fields[c.name])) << c.name;
    } else if (fields.count(c.name)) {
      EXPECT_EQ(cell[c.name], fields[c.name]) << c.name;
    }
  }
  EXPECT_EQ(cell["memory_k"], "2");
  EXPECT_EQ(cell["memory_d"], "4");
  EXPECT_EQ(cell["curve_length"], "2");
  EXPECT_EQ(cell["mem_attention_length"], "3");
  EXPECT_EQ(cell["model"], "tiny-llama");
}

}  // namespace
}  // namespace crammer
