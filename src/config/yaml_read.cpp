// Reading side of the YAML binder (yaml_binder.hpp): YAML text -> overrides -> struct, every
// key claimed, every error naming where the value came from.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "crammer/config/yaml_binder.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/printable.hpp"
#include "crammer/util/utf8.hpp"
#include "yaml_paths.hpp"

namespace crammer {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(key, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best.empty() || best_d > std::max<size_t>(2, key.size() / 3)) return "";
  return best;
}

std::string describe_node(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

// Where a value came from, for messages: "FILE:LINE" or "command-line override 'a.b=v'".
class Origins {
 public:
  explicit Origins(std::string source) : source_(std::move(source)) {}
  void mark_override(const std::string& path, const std::string& word) { overrides_[path] = word; }
  std::string where(const std::string& path, const YAML::Node& node) const {
    // An override of this path or of an enclosing one.
    for (std::string p = path;;) {
      auto it = overrides_.find(p);
      if (it != overrides_.end()) return "command-line override '" + it->second + "'";
      // Up one level: "a.b[2]" -> "a.b" -> "a".
      auto cut = !p.empty() && p.back() == ']' ? p.rfind('[') : p.rfind('.');
      if (cut == std::string::npos || cut == 0) break;
      p = p.substr(0, cut);
    }
    std::string s = source_;
    if (node.IsDefined() && node.Mark().line >= 0) s += ":" + std::to_string(node.Mark().line + 1);
    return s;
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, std::string> overrides_;
};

[[noreturn]] void fail(const Origins& o, const std::string& path, const YAML::Node& node,
                       const std::string& what) {
  throw ConfigError(o.where(path, node) + ": " + path + ": " + what);
}

// YAML node -> struct. Every key of a mapping must be claimed by a field.
class Reader : public YamlBinder {
 public:
  Reader(const YAML::Node& node, std::string prefix, const Origins& origins)
      : node_(node), prefix_(std::move(prefix)), origins_(origins) {}

  void str(const char* key, std::string& v) override {
    if (YAML::Node n; take(key, n)) v = scalar(key, n);
  }
  void opt_str(const char* key, std::optional<std::string>& v) override {
    if (YAML::Node n; take(key, n)) {
      if (n.IsNull()) v.reset();
      else v = scalar(key, n);
    }
  }
  void i64(const char* key, int64_t& v) override {
    if (YAML::Node n; take(key, n)) v = integer(path(key), n);
  }
  void u64(const char* key, uint64_t& v) override {
    if (YAML::Node n; take(key, n)) {
      int64_t x = integer(path(key), n);
      if (x < 0) fail(origins_, path(key), n, "expected a non-negative integer, got " + describe_node(n));
      v = static_cast<uint64_t>(x);
    }
  }
  void f64(const char* key, double& v) override {
    if (YAML::Node n; take(key, n)) {
      std::string s = scalar(key, n);
      try {
        size_t used = 0;
        v = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
      } catch (const std::exception&) {
        fail(origins_, path(key), n, "expected a number, got " + describe_node(n));
      }
      // inf and nan parse, but no option means them: they would give done rows of nonsense.
      if (!std::isfinite(v)) fail(origins_, path(key), n, "expected a finite number, got " + describe_node(n));
    }
  }
  void boolean(const char* key, bool& v) override {
    if (YAML::Node n; take(key, n)) {
      std::string s = scalar(key, n);
      if (s == "true" || s == "True" || s == "yes") v = true;
      else if (s == "false" || s == "False" || s == "no") v = false;
      else fail(origins_, path(key), n, "expected true or false, got " + describe_node(n));
    }
  }
  void i64_list(const char* key, std::vector<int64_t>& v) override {
    if (YAML::Node n; take(key, n)) {
      v.clear();
      if (n.IsScalar()) {  // a single value is a list of one
        v.push_back(integer(path(key), n));
        return;
      }
      if (!n.IsSequence()) fail(origins_, path(key), n, "expected a list of integers, got " + describe_node(n));
      for (size_t i = 0; i < n.size(); ++i) v.push_back(integer(path(key) + "[" + std::to_string(i) + "]", n[i]));
    }
  }
  void str_list(const char* key, std::vector<std::string>& v) override {
    if (YAML::Node n; take(key, n)) {
      v.clear();
      if (n.IsScalar()) {
        v.push_back(text(path(key), n));
        return;
      }
      if (!n.IsSequence()) fail(origins_, path(key), n, "expected a list of strings, got " + describe_node(n));
      for (size_t i = 0; i < n.size(); ++i) {
        if (!n[i].IsScalar())
          fail(origins_, path(key) + "[" + std::to_string(i) + "]", n[i], "expected a string, got " + describe_node(n[i]));
        v.push_back(text(path(key) + "[" + std::to_string(i) + "]", n[i]));
      }
    }
  }
  void section(const char* key, const std::function<void(YamlBinder&)>& body) override {
    YAML::Node n;
    if (!take(key, n) || n.IsNull()) {
      // Absent section: still claim nothing, keep defaults.
      YAML::Node empty(YAML::NodeType::Map);
      Reader sub(empty, path(key), origins_);
      body(sub);
      return;
    }
    if (!n.IsMap()) fail(origins_, path(key), n, "expected a mapping of keys, got " + describe_node(n));
    Reader sub(n, path(key), origins_);
    body(sub);
    sub.finish();
  }
  void record_list(const char* key, const char* what, size_t, const std::function<void(size_t)>& reset,
                   const std::function<void(size_t, YamlBinder&)>& bind_at) override {
    YAML::Node n;
    if (!take(key, n)) return;
    if (!n.IsSequence()) fail(origins_, path(key), n, std::string("expected a list of ") + what + ", got " + describe_node(n));
    reset(n.size());
    for (size_t i = 0; i < n.size(); ++i) {
      std::string p = path(key) + "." + std::to_string(i);
      if (!n[i].IsMap()) fail(origins_, p, n[i], "expected a mapping, got " + describe_node(n[i]));
      Reader sub(n[i], p, origins_);
      bind_at(i, sub);
      sub.finish();
    }
  }

  // Every key not claimed is unknown.
  void finish() const {
    if (!node_.IsMap()) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string k = it->first.as<std::string>();
      if (claimed_.count(k)) continue;
      std::string msg = "unknown key '" + path(k) + "'";
      std::string hint = did_you_mean(k, std::vector<std::string>(claimed_.begin(), claimed_.end()));
      if (!hint.empty()) msg += "; did you mean '" + path(hint) + "'?";
      else msg += "; valid keys here: " + join(claimed_);
      throw ConfigError(origins_.where(path(k), it->first) + ": " + msg);
    }
  }

 private:
  static std::string join(const std::set<std::string>& keys) {
    std::string s;
    for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
    return s;
  }
  std::string path(const std::string& key) const { return join_path(prefix_, key); }

  // False when KEY is absent (a default-constructed YAML::Node is a defined null, not absent).
  bool take(const char* key, YAML::Node& out) {
    claimed_.insert(key);
    if (!node_.IsMap()) return false;
    const YAML::Node& cn = node_;  // const access: operator[] on a non-const node inserts the key
    YAML::Node n = cn[key];
    if (!n.IsDefined()) return false;
    out = n;
    return true;
  }
  std::string scalar(const char* key, const YAML::Node& n) const {
    if (!n.IsScalar()) fail(origins_, path(key), n, "expected a single value, got " + describe_node(n));
    return text(path(key), n);
  }
  // A string value: YAML is Unicode, so bytes that are not UTF-8 could not be printed back.
  std::string text(const std::string& p, const YAML::Node& n) const {
    const std::string& s = n.Scalar();
    if (!valid_utf8(s)) fail(origins_, p, n, "expected UTF-8 text, got '" + printable(s) + "'");
    return s;
  }
  int64_t integer(const std::string& p, const YAML::Node& n) const {
    if (!n.IsScalar()) fail(origins_, p, n, "expected an integer, got " + describe_node(n));
    const std::string& s = n.Scalar();
    try {
      size_t used = 0;
      long long x = std::stoll(s, &used);
      if (used != s.size()) throw std::invalid_argument(s);
      return x;
    } catch (const std::exception&) {
      fail(origins_, p, n, "expected an integer, got " + describe_node(n));
    }
  }

  YAML::Node node_;
  std::string prefix_;
  const Origins& origins_;
  std::set<std::string> claimed_;
};

// Applies "a.b=v" to the YAML tree. The value is YAML ("[1,2]", "true", "0.5", "text").
void apply_override(YAML::Node& root, const std::string& word, Origins& origins) {
  auto eq = word.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("command-line override '" + word + "': expected KEY=VALUE, e.g. cram.optimizer.lr=0.005");
  std::string path = word.substr(0, eq);
  std::string text = word.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("command-line override '" + word + "': value is not valid YAML: " + e.msg);
  }
  if (!value.IsDefined() || (value.IsNull() && text.empty())) value = YAML::Node(std::string());

  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);

  // Walk with node handles (yaml-cpp nodes are references into the tree).
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    const std::string& p = parts[i];
    bool index = !p.empty() && std::all_of(p.begin(), p.end(), ::isdigit);
    if (index && p.size() > 9)
      throw ConfigError("command-line override '" + word + "': list index " + p + " is too large");
    if (index) {
      if (!cur.IsSequence())
        throw ConfigError("command-line override '" + word + "': '" + p + "' indexes a list but " +
                          path.substr(0, path.find(p) - 1) + " is not one");
      size_t idx = std::stoul(p);
      if (idx > cur.size())
        throw ConfigError("command-line override '" + word + "': index " + p + " is past the end of the list (" +
                          std::to_string(cur.size()) + " entries)");
      if (idx == cur.size()) cur.push_back(YAML::Node(YAML::NodeType::Map));
      chain.push_back(cur[idx]);
    } else {
      if (cur.IsDefined() && !cur.IsNull() && !cur.IsMap())
        throw ConfigError("command-line override '" + word + "': '" + p + "' names a key, but what holds it is " +
                          describe_node(cur));
      if (!cur[p] || cur[p].IsNull()) cur[p] = YAML::Node(YAML::NodeType::Map);
      chain.push_back(cur[p]);
    }
  }
  YAML::Node parent = chain.back();
  const std::string& last = parts.back();
  const bool last_index = !last.empty() && std::all_of(last.begin(), last.end(), ::isdigit);
  if (last_index && parent.IsSequence()) {
    if (last.size() > 9) throw ConfigError("command-line override '" + word + "': list index " + last + " is too large");
    size_t idx = std::stoul(last);
    if (idx >= parent.size())
      throw ConfigError("command-line override '" + word + "': index " + last + " is past the end of the list");
    parent[idx] = value;
  } else {
    if (parent.IsDefined() && !parent.IsNull() && !parent.IsMap())
      throw ConfigError("command-line override '" + word + "': '" + last + "' names a key, but what holds it is " +
                        describe_node(parent));
    parent[last] = value;
  }
  origins.mark_override(path, word);
}

// yaml-cpp keeps every entry of a mapping but looks keys up by the first: a repeated key would
// silently lose its later value. Refused, naming both lines.
void check_duplicate_keys(const YAML::Node& node, const std::string& prefix, const std::string& source) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) check_duplicate_keys(node[i], prefix + "[" + std::to_string(i) + "]", source);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, int> first_line;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = join_path(prefix, key);
    const int line = it->first.Mark().line + 1;
    auto [seen, inserted] = first_line.emplace(key, line);
    if (!inserted)
      throw ConfigError(source + ":" + std::to_string(line) + ": " + path + ": key given twice (first at line " +
                        std::to_string(seen->second) + "); keep one");
    check_duplicate_keys(it->second, path, source);
  }
}

}  // namespace

void read_yaml(const std::string& yaml_text, const std::string& source, const std::vector<std::string>& overrides,
               const BindFields& bind, const std::string& top) {
  Origins origins(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(source + ": expected " + top + ", got " + describe_node(root));
  check_duplicate_keys(root, "", source);
  try {
    for (const auto& w : overrides) apply_override(root, w, origins);
    Reader r(root, "", origins);
    bind(r);
    r.finish();
  } catch (const YAML::Exception& e) {
    // Our checks come first; this is the net under shapes they do not foresee.
    throw ConfigError(source + (e.mark.is_null() ? std::string() : ":" + std::to_string(e.mark.line + 1)) + ": " + e.msg);
  }
}

}  // namespace crammer
