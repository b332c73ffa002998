// `crammer export` (see crammer/store/export.hpp). The results table follows the column list of
// the field list, so a new field reaches the CSV with no edit here.
#include "crammer/store/export.hpp"

#include <fmt/format.h>

#include <map>

#include <yaml-cpp/yaml.h>

#include "crammer/core/result_columns.hpp"
#include "crammer/core/result_fields.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

namespace {

// RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside.
std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Shortest text that reads back as the same number.
std::string num(double v) { return fmt::format("{}", v); }
std::string num(float v) { return fmt::format("{:.9g}", v); }

// One cell per column of result_columns(), in order.
struct Cells {
  std::vector<std::string> out;
  void section(const char*) {}
  void since(int) {}
  void text(const char*, const std::string& s, int) { out.push_back(csv(s)); }
  void num(const char*, int32_t v) { out.push_back(std::to_string(v)); }
  void num(const char*, int64_t v) { out.push_back(std::to_string(v)); }
  void num(const char*, double v) { out.push_back(crammer::num(v)); }
  void flag(const char*, bool b) { out.push_back(b ? "true" : "false"); }
  void status(const char*, TaskStatus s) {
    out.push_back(to_string(s));
    out.push_back(to_string(s));  // status_name (a column of the file; the CSV prints it once)
  }
  void matrix(const char*, const std::vector<float>& v, int32_t cols) {
    const bool has = !v.empty() && cols > 0;
    out.push_back("");  // offset: storage only
    out.push_back(std::to_string(has ? v.size() / static_cast<size_t>(cols) : 0));
    out.push_back(std::to_string(has ? cols : 0));
  }
  void curves(const char*, const std::vector<float>& loss, const std::vector<float>&) {
    out.push_back("");  // offset: storage only
    out.push_back(std::to_string(loss.size()));
  }
  void series(const char*, const std::vector<float>& v) {
    out.push_back("");  // offset: storage only
    out.push_back(std::to_string(v.size()));
  }
};

void write_results(const std::string& path, std::ostream& out) {
  // The arrays' shapes are columns: read them (the data stay out of this table).
  ReadOptions options;
  options.memory = true;
  options.curves = true;
  options.series = true;
  ResultsReader reader(path, options);
  std::map<int32_t, std::string> names;
  for (const auto& m : reader.models()) names[m.model_index] = m.name;
  const auto& columns = result_columns();
  std::string header;
  for (const auto& c : columns) {
    if (!c.in_csv) continue;
    header += (header.empty() ? "" : ",") + c.name;
    if (c.name == "model_index") header += ",model";
  }
  out << header << '\n';
  for (const auto& r : reader.rows()) {
    Cells cells;
    visit_result_fields(cells, r);
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!columns[i].in_csv) continue;
      line += (line.empty() ? "" : ",") + cells.out[i];
      if (columns[i].name == "model_index") {
        auto name = names.find(r.model_index);
        line += "," + csv(name != names.end() ? name->second : std::to_string(r.model_index));
      }
    }
    out << line << '\n';
  }
}

void write_models(const ResultsReader& reader, std::ostream& out) {
  out << "model_index,name,path,dtype,model_type,d_model,num_layers,vocab_size,n_params,bos_token,planned_tasks\n";
  for (const auto& m : reader.models())
    out << m.model_index << ',' << csv(m.name) << ',' << csv(m.path) << ',' << csv(m.dtype) << ','
        << csv(m.model_type) << ',' << m.d_model << ',' << m.num_layers << ',' << m.vocab_size
        << ',' << m.n_params << ',' << m.bos_token << ',' << m.planned_tasks << '\n';
}

std::string joined(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s;
}

void write_samples(const ResultsReader& reader, std::ostream& out) {
  out << "sample_id,model_index,source,offset,text_offset,text_kind,n_tokens,token_ids,text\n";
  for (const auto& s : reader.samples())
    out << s.sample_id << ',' << s.model_index << ',' << csv(s.source) << ',' << s.offset << ','
        << s.text_offset << ',' << csv(s.text_kind) << ',' << s.token_ids.size() << ','
        << csv(joined(s.token_ids)) << ',' << csv(s.text) << '\n';
}

// output.KEY of the run's stored config (a null node when absent or unreadable).
YAML::Node stored_output(const ResultsReader& reader, const char* key) {
  try {
    YAML::Node output = YAML::Load(reader.run().config_yaml)["output"];
    if (output && output.IsMap()) return YAML::Clone(output[key]);
  } catch (const YAML::Exception&) {
  }
  return YAML::Node();
}

// output.curves_every of the run's stored config: curve point i is step i * every.
int64_t curves_every(const ResultsReader& reader) {
  try {
    YAML::Node every = stored_output(reader, "curves_every");
    if (every && every.as<int64_t>() > 0) return every.as<int64_t>();
  } catch (const YAML::Exception&) {
  }
  return 1;
}

// Why an array table came out empty: the run did not record it, or no row is done yet.
std::string empty_table_note(const ResultsReader& reader, const std::string& path, const char* what,
                             const char* key, bool recorded) {
  if (!recorded)
    return path + " holds no " + what + ": its run had output." + key + " off (set output." + key +
           (std::string(key) == "curves_every" ? "=N, a point every N steps," : "=true") +
           " in the config of a new run to record them)";
  size_t done = 0;
  for (const auto& r : reader.rows()) done += r.status == TaskStatus::done;
  return path + " holds no " + what + " yet: " + std::to_string(done) + " done row(s) of " +
         std::to_string(reader.rows().size());
}

std::string write_curves(const std::string& path, std::ostream& out) {
  ReadOptions options;
  options.curves = true;
  ResultsReader reader(path, options);
  const int64_t every = curves_every(reader);
  out << "task_key,length,step,loss,accuracy\n";
  size_t points = 0;
  for (const auto& r : reader.rows())
    for (size_t i = 0; i < r.curve_loss.size(); ++i, ++points)
      out << csv(r.task_key) << ',' << r.length << ',' << static_cast<int64_t>(i) * every << ','
          << num(r.curve_loss[i]) << ',' << num(r.curve_acc[i]) << '\n';
  if (points > 0) return "";
  YAML::Node on = stored_output(reader, "curves_every");
  bool recorded = false;
  try {
    recorded = on && on.as<int64_t>() > 0;
  } catch (const YAML::Exception&) {
  }
  return empty_table_note(reader, path, "curves", "curves_every", recorded);
}

std::string write_memory(const std::string& path, std::ostream& out) {
  ReadOptions options;
  options.memory = true;
  ResultsReader reader(path, options);
  out << "task_key,length,model_index,mem_row,values\n";
  size_t vectors = 0;
  for (const auto& r : reader.rows()) {
    if (r.memory.empty() || r.d_model <= 0) continue;
    const size_t d = static_cast<size_t>(r.d_model);
    for (size_t k = 0; k < r.memory.size() / d; ++k, ++vectors) {
      std::string values;
      for (size_t j = 0; j < d; ++j) values += (j ? " " : "") + num(r.memory[k * d + j]);
      out << csv(r.task_key) << ',' << r.length << ',' << r.model_index << ',' << k << ','
          << values << '\n';
    }
  }
  if (vectors > 0) return "";
  YAML::Node on = stored_output(reader, "save_memory");
  bool recorded = false;  // the config's default
  try {
    recorded = on && on.as<bool>();
  } catch (const YAML::Exception&) {
  }
  return empty_table_note(reader, path, "[mem] vectors", "save_memory", recorded);
}

std::string write_mem_attention(const std::string& path, std::ostream& out) {
  ReadOptions options;
  options.series = true;
  ResultsReader reader(path, options);
  out << "task_key,length,model_index,layer,mass\n";
  size_t values = 0;
  for (const auto& r : reader.rows())
    for (size_t layer = 0; layer < r.mem_attention.size(); ++layer, ++values)
      out << csv(r.task_key) << ',' << r.length << ',' << r.model_index << ',' << layer << ','
          << num(r.mem_attention[layer]) << '\n';
  if (values > 0) return "";
  YAML::Node on = stored_output(reader, "attention_mass");
  bool recorded = false;
  try {
    recorded = on && on.as<bool>();
  } catch (const YAML::Exception&) {
  }
  return empty_table_note(reader, path, "attention mass", "attention_mass", recorded);
}

}  // namespace

std::string write_csv(const std::string& path, std::ostream& out, const std::string& table) {
  if (table == "curves") return write_curves(path, out);
  if (table == "memory") return write_memory(path, out);
  if (table == "mem_attention") return write_mem_attention(path, out);
  if (table == "results") {
    write_results(path, out);
    return "";
  }
  if (table == "models" || table == "samples") {
    ResultsReader reader(path);
    if (table == "models") write_models(reader, out);
    else write_samples(reader, out);
    return "";
  }
  throw ConfigError("unknown table '" + table + "' for export of " + path +
                    ": expected results, models, samples, curves, memory or mem_attention");
}

}  // namespace crammer
