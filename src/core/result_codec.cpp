// TaskResult <-> bytes, driven by the field list (see crammer/core/result_codec.hpp).
#include "crammer/core/result_codec.hpp"

#include "crammer/core/result_fields.hpp"

namespace crammer {

namespace {

struct Encoder {
  ByteWriter& w;
  uint32_t format;
  bool absent = false;  // the fields since a format newer than the output's: left out
  void section(const char*) { absent = false; }
  void since(int added) { absent = static_cast<uint32_t>(added) > format; }
  void text(const char*, const std::string& s, int) {
    if (!absent) w.put_string(s);
  }
  template <class T>
  void num(const char*, const T& v) {
    if (!absent) w.put<T>(v);
  }
  void flag(const char*, bool b) {
    if (!absent) w.put<uint8_t>(b ? 1 : 0);
  }
  void status(const char*, TaskStatus s) {
    if (!absent) w.put<int8_t>(static_cast<int8_t>(s));
  }
  void matrix(const char*, const std::vector<float>& v, int32_t cols) {
    if (absent) return;
    w.put_vector(v);
    w.put<int32_t>(cols);
  }
  void curves(const char*, const std::vector<float>& loss, const std::vector<float>& acc) {
    if (absent) return;
    w.put_vector(loss);
    w.put_vector(acc);
  }
  void series(const char*, const std::vector<float>& v) {
    if (!absent) w.put_vector(v);
  }
};

struct Decoder {
  ByteReader& r;
  const TaskResult& x;
  uint32_t format;
  std::string field;
  bool absent = false;  // the fields since a format newer than the input's: left at defaults
  const char* name(const char* f) { return (field = std::string("result.") + f).c_str(); }
  void section(const char*) { absent = false; }
  void since(int added) { absent = static_cast<uint32_t>(added) > format; }
  void text(const char* f, std::string& s, int) {
    if (!absent) s = r.get_string(name(f));
  }
  template <class T>
  void num(const char* f, T& v) {
    if (!absent) v = r.get<T>(name(f));
  }
  void flag(const char* f, bool& b) {
    if (!absent) b = r.get<uint8_t>(name(f)) != 0;
  }
  void status(const char* f, TaskStatus& s) {
    if (absent) return;
    auto b = r.get<int8_t>(name(f));
    if (!valid_status_byte(b))
      r.fail("result.status of task '" + x.task_key + "' is " + std::to_string(b) +
             ", expected 0 (done), 1 (failed) or 2 (skipped)");
    s = static_cast<TaskStatus>(b);
  }
  void matrix(const char* f, std::vector<float>& v, int32_t& cols) {
    if (absent) return;
    v = r.get_vector<float>(name(f));
    cols = r.get<int32_t>(name((std::string(f) + ".cols").c_str()));
  }
  void curves(const char* f, std::vector<float>& loss, std::vector<float>& acc) {
    if (absent) return;
    std::string base = f;
    loss = r.get_vector<float>(name((base + "_loss").c_str()));
    acc = r.get_vector<float>(name((base + "_acc").c_str()));
  }
  void series(const char* f, std::vector<float>& v) {
    if (!absent) v = r.get_vector<float>(name(f));
  }
};

}  // namespace

void write_result(ByteWriter& w, const TaskResult& r, uint32_t format) {
  Encoder v{w, format};
  visit_result_fields(v, r);
}

TaskResult read_result(ByteReader& r, uint32_t format) {
  TaskResult x;
  Decoder v{r, x, format, {}};
  visit_result_fields(v, x);
  return x;
}

}  // namespace crammer
