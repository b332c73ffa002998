// One reusable YAML binder for typed config structs (the sweep config and the pretraining
// recipe): a struct's field table is a function over a YamlBinder, and that one table drives
// reading (every key claimed, unknown keys refused with "did you mean"), writing and key listing,
// so the three never disagree about names or defaults. `a.b=v` overrides are applied to the
// YAML tree before reading, and errors name the file and line or the override.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace crammer {

// Visitor over a struct's fields; one implementation per direction (read, write, list keys).
class YamlBinder {
 public:
  virtual ~YamlBinder() = default;
  virtual void str(const char* key, std::string& v) = 0;
  virtual void opt_str(const char* key, std::optional<std::string>& v) = 0;
  virtual void i64(const char* key, int64_t& v) = 0;
  virtual void u64(const char* key, uint64_t& v) = 0;
  virtual void f64(const char* key, double& v) = 0;
  virtual void boolean(const char* key, bool& v) = 0;
  virtual void i64_list(const char* key, std::vector<int64_t>& v) = 0;  // a single value is a list of one
  virtual void str_list(const char* key, std::vector<std::string>& v) = 0;
  virtual void section(const char* key, const std::function<void(YamlBinder&)>& body) = 0;

  // A list of mappings, each bound by `bind`; `what` describes the list in messages
  // (e.g. "models (each with name, path, dtype)"). Listed keys show an element as "KEY.N".
  template <typename T>
  void records(const char* key, std::vector<T>& v, void (*bind)(YamlBinder&, T&), const char* what) {
    record_list(
        key, what, v.size(), [&v](size_t n) { v.assign(n, T{}); },
        [&v, bind](size_t i, YamlBinder& b) { bind(b, v[i]); });
  }

 protected:
  // `reset(n)` replaces the list by n default elements; `bind_at(i, b)` binds element i.
  virtual void record_list(const char* key, const char* what, size_t count, const std::function<void(size_t)>& reset,
                           const std::function<void(size_t, YamlBinder&)>& bind_at) = 0;
};

using BindFields = std::function<void(YamlBinder&)>;

// Parses `yaml_text` (called `source` in messages), applies the overrides ("a.b=v", v YAML;
// "models.0.dtype=f32" indexes lists), then reads it through `bind`. `top` says what the top
// level must be, for the message when it is not a mapping. Throws ConfigError
// "SOURCE:LINE: a.b: expected ..., got ..." or "command-line override 'a.b=v': ...".
void read_yaml(const std::string& yaml_text, const std::string& source, const std::vector<std::string>& overrides,
               const BindFields& bind, const std::string& top);

// How floats are written: the shortest text that reads back as the same double (0.05), or
// always 17 significant digits (0.050000000000000003; what config fingerprints were made of,
// so they stay as they were).
enum class FloatText { shortest, digits17 };

// Every field as YAML, in table order: block style, flow lists of integers, strings that YAML
// would read as another type single-quoted. read_yaml of the result gives the same values.
std::string write_yaml(const BindFields& bind, FloatText floats = FloatText::shortest);

// Every key path ("cram.optimizer.lr", "models.N.path", ...) in table order.
std::vector<std::string> yaml_keys(const BindFields& bind);

}  // namespace crammer
