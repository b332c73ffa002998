// Writing side of the YAML binder (yaml_binder.hpp): struct -> YAML text, and the key list.
#include <algorithm>
#include <charconv>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "crammer/config/yaml_binder.hpp"
#include "yaml_paths.hpp"

namespace crammer {
namespace {

// Struct -> YAML, every key present, block style with flow lists of numbers.
class Writer : public YamlBinder {
 public:
  Writer(YAML::Emitter& out, FloatText floats) : out_(out), floats_(floats) {}
  void str(const char* key, std::string& v) override {
    out_ << YAML::Key << key << YAML::Value;
    emit(v);
  }
  void opt_str(const char* key, std::optional<std::string>& v) override {
    out_ << YAML::Key << key << YAML::Value;
    if (v) emit(*v);
    else out_ << YAML::Null;
  }
  void i64(const char* key, int64_t& v) override { out_ << YAML::Key << key << YAML::Value << v; }
  void u64(const char* key, uint64_t& v) override { out_ << YAML::Key << key << YAML::Value << v; }
  void f64(const char* key, double& v) override {
    std::string t;
    if (floats_ == FloatText::shortest) {
      // The shortest text that reads back as v, fixed or scientific, whichever is shorter: 10, 0.05, 1e-08.
      char buf[64];
      t.assign(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    } else {
      std::ostringstream s;
      s.precision(17);
      s << v;
      t = s.str();
    }
    // Keep it a float in YAML's eyes without changing its value.
    if (t.find_first_of(".eEn") == std::string::npos) t += ".0";
    out_ << YAML::Key << key << YAML::Value << t;
  }
  void boolean(const char* key, bool& v) override { out_ << YAML::Key << key << YAML::Value << v; }
  void i64_list(const char* key, std::vector<int64_t>& v) override {
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (auto x : v) out_ << x;
    out_ << YAML::EndSeq;
  }
  void str_list(const char* key, std::vector<std::string>& v) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (auto& x : v) emit(x);
    out_ << YAML::EndSeq;
  }
  void section(const char* key, const std::function<void(YamlBinder&)>& body) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    body(*this);
    out_ << YAML::EndMap;
  }
  void record_list(const char* key, const char*, size_t count, const std::function<void(size_t)>&,
                   const std::function<void(size_t, YamlBinder&)>& bind_at) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (size_t i = 0; i < count; ++i) {
      out_ << YAML::BeginMap;
      bind_at(i, *this);
      out_ << YAML::EndMap;
    }
    out_ << YAML::EndSeq;
  }

 private:
  // Strings that YAML readers would take for another type (numbers, booleans, null, empty)
  // are single-quoted so Python and other readers see strings too.
  void emit(const std::string& s) {
    bool quote = s.empty() || s == "~" || s == "null" || s == "true" || s == "false" || s == "yes" || s == "no" ||
                 s == "True" || s == "False";
    if (!quote) {
      try {
        size_t used = 0;
        (void)std::stod(s, &used);
        quote = used == s.size();
      } catch (const std::exception&) {
      }
    }
    // Control characters (a CR in a path) survive only as double-quoted escapes.
    const bool control = std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (control) out_ << YAML::DoubleQuoted;
    else if (quote) out_ << YAML::SingleQuoted;
    out_ << s;
  }
  YAML::Emitter& out_;
  FloatText floats_;
};

// Collects key paths.
class Lister : public YamlBinder {
 public:
  explicit Lister(std::string prefix, std::vector<std::string>& keys) : prefix_(std::move(prefix)), keys_(keys) {}
  void str(const char* k, std::string&) override { add(k); }
  void opt_str(const char* k, std::optional<std::string>&) override { add(k); }
  void i64(const char* k, int64_t&) override { add(k); }
  void u64(const char* k, uint64_t&) override { add(k); }
  void f64(const char* k, double&) override { add(k); }
  void boolean(const char* k, bool&) override { add(k); }
  void i64_list(const char* k, std::vector<int64_t>&) override { add(k); }
  void str_list(const char* k, std::vector<std::string>&) override { add(k); }
  void section(const char* k, const std::function<void(YamlBinder&)>& body) override {
    Lister sub(join_path(prefix_, k), keys_);
    body(sub);
  }
  void record_list(const char* k, const char*, size_t, const std::function<void(size_t)>& reset,
                   const std::function<void(size_t, YamlBinder&)>& bind_at) override {
    reset(1);  // one default element stands for every index
    Lister sub(join_path(prefix_, k) + ".N", keys_);
    bind_at(0, sub);
  }

 private:
  void add(const char* k) { keys_.push_back(join_path(prefix_, k)); }
  std::string prefix_;
  std::vector<std::string>& keys_;
};

}  // namespace

std::string write_yaml(const BindFields& bind, FloatText floats) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer w(out, floats);
  bind(w);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> yaml_keys(const BindFields& bind) {
  std::vector<std::string> keys;
  Lister l("", keys);
  bind(l);
  return keys;
}

}  // namespace crammer
