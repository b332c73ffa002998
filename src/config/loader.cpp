// The one place YAML meets the typed config. A single field table (bind_config) drives reading,
// writing and key listing, so the three can never disagree about names or defaults.
// Not here: validation of values (validate.cpp).
#include "crammer/config/loader.hpp"

#include <algorithm>
#include <fstream>
#include <glob.h>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

// Visitor over the config's fields; one implementation per direction.
class Binder {
 public:
  virtual ~Binder() = default;
  virtual void str(const char* key, std::string& v) = 0;
  virtual void opt_str(const char* key, std::optional<std::string>& v) = 0;
  virtual void i64(const char* key, int64_t& v) = 0;
  virtual void u64(const char* key, uint64_t& v) = 0;
  virtual void f64(const char* key, double& v) = 0;
  virtual void boolean(const char* key, bool& v) = 0;
  virtual void i64_list(const char* key, std::vector<int64_t>& v) = 0;
  virtual void str_list(const char* key, std::vector<std::string>& v) = 0;
  virtual void section(const char* key, const std::function<void(Binder&)>& body) = 0;
  virtual void models(const char* key, std::vector<ModelEntry>& v) = 0;
};

void bind_model(Binder& b, ModelEntry& m) {
  b.str("name", m.name);
  b.str("path", m.path);
  b.str("dtype", m.dtype);
  b.str("tokenizer", m.tokenizer);
}

void bind_config(Binder& b, ExperimentConfig& c) {
  b.models("models", c.models);
  b.section("corpus", [&](Binder& s) {
    s.str("format", c.corpus.format);
    s.str_list("paths", c.corpus.paths);
    s.str("text_field", c.corpus.text_field);
    s.str_list("text_kind", c.corpus.text_kind);
    s.opt_str("word_list", c.corpus.word_list);
    s.i64("samples", c.corpus.samples);
    s.u64("seed", c.corpus.seed);
    s.str("add_bos", c.corpus.add_bos);
  });
  b.section("cram", [&](Binder& s) {
    s.i64_list("n_mem", c.cram.n_mem);
    s.i64_list("lengths", c.cram.lengths);
    s.str("search", c.cram.search);
    s.boolean("predict_first_token", c.cram.predict_first_token);
    s.f64("init_std_scale", c.cram.init_std_scale);
    s.boolean("decode_check", c.cram.decode_check);
    s.opt_str("init_mem", c.cram.init_mem);
    s.section("optimizer", [&](Binder& o) {
      auto& opt = c.cram.optimizer;
      o.f64("lr", opt.lr);
      o.f64("beta1", opt.beta1);
      o.f64("beta2", opt.beta2);
      o.f64("eps", opt.eps);
      o.f64("weight_decay", opt.weight_decay);
      o.i64("max_steps", opt.max_steps);
      o.i64("patience", opt.patience);
      o.f64("target_accuracy", opt.target_accuracy);
    });
  });
  b.section("batching", [&](Binder& s) {
    s.i64("batch_size", c.batching.batch_size);
    s.i64("head_chunk", c.batching.head_chunk);
  });
  b.section("runtime", [&](Binder& s) {
    s.str("device", c.runtime.device);
    s.str("attention", c.runtime.attention);
    s.i64("threads", c.runtime.threads);
    s.u64("seed", c.runtime.seed);
    s.str("log_level", c.runtime.log_level);
  });
  b.section("output", [&](Binder& s) {
    s.str("path", c.output.path);
    s.boolean("save_memory", c.output.save_memory);
    s.i64("curves_every", c.output.curves_every);
    s.f64("flush_seconds", c.output.flush_seconds);
  });
}

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

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
      auto dot = p.rfind('.');
      if (dot == std::string::npos) break;
      p = p.substr(0, dot);
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
class Reader : public Binder {
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
        v.push_back(n.Scalar());
        return;
      }
      if (!n.IsSequence()) fail(origins_, path(key), n, "expected a list of strings, got " + describe_node(n));
      for (size_t i = 0; i < n.size(); ++i) {
        if (!n[i].IsScalar())
          fail(origins_, path(key) + "[" + std::to_string(i) + "]", n[i], "expected a string, got " + describe_node(n[i]));
        v.push_back(n[i].Scalar());
      }
    }
  }
  void section(const char* key, const std::function<void(Binder&)>& body) override {
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
  void models(const char* key, std::vector<ModelEntry>& v) override {
    YAML::Node n;
    if (!take(key, n)) return;
    if (!n.IsSequence())
      fail(origins_, path(key), n, "expected a list of models (each with name, path, dtype), got " + describe_node(n));
    v.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      std::string p = path(key) + "." + std::to_string(i);
      if (!n[i].IsMap()) fail(origins_, p, n[i], "expected a mapping with name, path, dtype, got " + describe_node(n[i]));
      ModelEntry m;
      Reader sub(n[i], p, origins_);
      bind_model(sub, m);
      sub.finish();
      v.push_back(m);
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
    return n.Scalar();
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

// Struct -> YAML, every key present, block style with flow lists of numbers.
class Writer : public Binder {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}
  void str(const char* key, std::string& v) override { out_ << YAML::Key << key << YAML::Value;
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
    std::ostringstream s;
    s.precision(17);
    s << v;
    std::string t = s.str();
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
  void section(const char* key, const std::function<void(Binder&)>& body) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    body(*this);
    out_ << YAML::EndMap;
  }
  void models(const char* key, std::vector<ModelEntry>& v) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (auto& m : v) {
      out_ << YAML::BeginMap;
      bind_model(*this, m);
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
    if (quote) out_ << YAML::SingleQuoted;
    out_ << s;
  }
  YAML::Emitter& out_;
};

// Collects key paths.
class Lister : public Binder {
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
  void section(const char* k, const std::function<void(Binder&)>& body) override {
    Lister sub(join_path(prefix_, k), keys_);
    body(sub);
  }
  void models(const char* k, std::vector<ModelEntry>&) override {
    ModelEntry m;
    Lister sub(join_path(prefix_, k) + ".N", keys_);
    bind_model(sub, m);
  }

 private:
  void add(const char* k) { keys_.push_back(join_path(prefix_, k)); }
  std::string prefix_;
  std::vector<std::string>& keys_;
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
      if (!cur[p] || cur[p].IsNull()) cur[p] = YAML::Node(YAML::NodeType::Map);
      chain.push_back(cur[p]);
    }
  }
  YAML::Node parent = chain.back();
  const std::string& last = parts.back();
  if (!last.empty() && std::all_of(last.begin(), last.end(), ::isdigit) && parent.IsSequence()) {
    size_t idx = std::stoul(last);
    if (idx >= parent.size())
      throw ConfigError("command-line override '" + word + "': index " + last + " is past the end of the list");
    parent[idx] = value;
  } else {
    parent[last] = value;
  }
  origins.mark_override(path, word);
}

ExperimentConfig convert(const YAML::Node& root, const Origins& origins) {
  ExperimentConfig c;
  if (root.IsNull() || !root.IsDefined()) return c;
  if (!root.IsMap())
    throw ConfigError(origins.source() + ": expected a mapping of sections (models, corpus, cram, ...), got " +
                      describe_node(root));
  Reader r(root, "", origins);
  bind_config(r, c);
  r.finish();
  return c;
}

// corpus.paths entries with * ? [ are shell patterns (PG-19 is thousands of files): expanded,
// sorted, so the resolved config lists the files a run really read.
void expand_corpus_globs(ExperimentConfig& c) {
  std::vector<std::string> out;
  for (size_t i = 0; i < c.corpus.paths.size(); ++i) {
    const std::string& p = c.corpus.paths[i];
    if (p.find_first_of("*?[") == std::string::npos) {
      out.push_back(p);
      continue;
    }
    glob_t g{};
    int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc != 0) {
      globfree(&g);
      throw ConfigError((c.source_file.empty() ? std::string("config") : c.source_file) + ": corpus.paths[" +
                        std::to_string(i) + "]: pattern '" + p + "' matches no file");
    }
    std::vector<std::string> found(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  c.corpus.paths = std::move(out);
}

}  // namespace

ExperimentConfig parse_config(const std::string& yaml_text, const std::string& source_name,
                              const std::vector<std::string>& overrides, const LoadOptions& options) {
  Origins origins(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& w : overrides) apply_override(root, w, origins);
  ExperimentConfig c = convert(root, origins);
  c.source_file = source_name;
  if (options.check_files) expand_corpus_globs(c);
  validate(c, options);
  return c;
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides,
                             const LoadOptions& options) {
  return parse_config(read_file<ConfigError>(path, "config file"), path, overrides, options);
}

std::string to_yaml(const ExperimentConfig& config) {
  ExperimentConfig c = config;
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer w(out);
  bind_config(w, c);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> config_keys() {
  ExperimentConfig c;
  std::vector<std::string> keys;
  Lister l("", keys);
  bind_config(l, c);
  return keys;
}

std::string config_fingerprint(const ExperimentConfig& config) {
  // Only what changes results: batching, threads, device, logging and output do not.
  ExperimentConfig c;
  c.models = config.models;
  c.corpus = config.corpus;
  c.cram = config.cram;
  c.runtime.seed = config.runtime.seed;
  std::string text = to_yaml(c);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace crammer
