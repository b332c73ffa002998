// ResultsReader and the helpers behind `crammer status` / `crammer export` (CSV).
#include "crammer/store/results_reader.hpp"

#include <fmt/format.h>

#include <map>

#include <yaml-cpp/yaml.h>

#include "crammer/util/error.hpp"
#include "h5.hpp"
#include "journal.hpp"
#include "schema.hpp"

namespace crammer {

ResultsReader::ResultsReader(const std::string& path, ReadOptions options) : path_(path) {
  h5::Id file = schema::open_for_reading(path);
  header_ = schema::read_header(file, path, &schema_version_);
  rows_ = schema::read_results(file, path, header_, {options.memory, options.curves});
}

bool writer_active(const std::string& path) { return journal_locked(journal_path(path)); }

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

// Shortest text that reads back as the same double.
std::string num(double v) { return fmt::format("{}", v); }
const char* flag(bool b) { return b ? "true" : "false"; }

void write_results(const ResultsReader& reader, std::ostream& out) {
  std::map<int32_t, std::string> names;
  for (const auto& m : reader.models()) names[m.model_index] = m.name;
  out << "task_key,model,sample_id,n_mem,length,status,n_tokens,n_targets,baseline_loss,"
         "baseline_acc,best_acc,best_loss,steps,steps_to_best,converged,info_gain_nats,"
         "info_gain_bits,token_gain,decode_exact,decode_prefix,wall_seconds,rank,device,error\n";
  for (const auto& r : reader.rows()) {
    auto name = names.find(r.model_index);
    std::string model = name != names.end() ? name->second : std::to_string(r.model_index);
    out << csv(r.task_key) << ',' << csv(model) << ',' << r.sample_id << ',' << r.n_mem << ','
        << r.length << ',' << status_name(r.status) << ',' << r.n_tokens << ',' << r.n_targets
        << ',' << num(r.baseline_loss) << ',' << num(r.baseline_acc) << ',' << num(r.best_acc)
        << ',' << num(r.best_loss) << ',' << r.steps << ',' << r.steps_to_best << ','
        << flag(r.converged) << ',' << num(r.info_gain_nats) << ',' << num(r.info_gain_bits)
        << ',' << r.token_gain << ',' << flag(r.decode_exact) << ',' << r.decode_prefix << ','
        << num(r.wall_seconds) << ',' << r.rank << ',' << csv(r.device) << ',' << csv(r.error)
        << '\n';
  }
}

void write_models(const ResultsReader& reader, std::ostream& out) {
  out << "model_index,name,path,dtype,model_type,d_model,num_layers,vocab_size,n_params,bos_token\n";
  for (const auto& m : reader.models())
    out << m.model_index << ',' << csv(m.name) << ',' << csv(m.path) << ',' << csv(m.dtype) << ','
        << csv(m.model_type) << ',' << m.d_model << ',' << m.num_layers << ',' << m.vocab_size
        << ',' << m.n_params << ',' << m.bos_token << '\n';
}

void write_samples(const ResultsReader& reader, std::ostream& out) {
  out << "sample_id,model_index,source,offset,text_kind,n_tokens,token_ids,text\n";
  for (const auto& s : reader.samples()) {
    std::string ids;
    for (size_t i = 0; i < s.token_ids.size(); ++i)
      ids += (i ? " " : "") + std::to_string(s.token_ids[i]);
    out << s.sample_id << ',' << s.model_index << ',' << csv(s.source) << ',' << s.offset << ','
        << csv(s.text_kind) << ',' << s.token_ids.size() << ',' << csv(ids) << ',' << csv(s.text)
        << '\n';
  }
}

// output.curves_every of the run's stored config: curve point i is step i * every.
int64_t curves_every(const ResultsReader& reader) {
  try {
    YAML::Node every = YAML::Load(reader.run().config_yaml)["output"]["curves_every"];
    if (every && every.as<int64_t>() > 0) return every.as<int64_t>();
  } catch (const YAML::Exception&) {
  }
  return 1;
}

void write_curves(const std::string& path, std::ostream& out) {
  ReadOptions options;
  options.curves = true;
  ResultsReader reader(path, options);
  const int64_t every = curves_every(reader);
  out << "task_key,step,loss,accuracy\n";
  for (const auto& r : reader.rows())
    for (size_t i = 0; i < r.curve_loss.size(); ++i)
      out << csv(r.task_key) << ',' << static_cast<int64_t>(i) * every << ','
          << fmt::format("{:.9g}", r.curve_loss[i]) << ',' << fmt::format("{:.9g}", r.curve_acc[i])
          << '\n';
}

void count(StatusCounts& c, TaskStatus s) {
  switch (s) {
    case TaskStatus::done: ++c.done; break;
    case TaskStatus::failed: ++c.failed; break;
    case TaskStatus::skipped: ++c.skipped; break;
  }
}

std::string counts_text(const StatusCounts& c) {
  return fmt::format("{:>8} {:>8} {:>8} {:>8}", c.done, c.failed, c.skipped, c.total());
}

}  // namespace

void write_csv(const std::string& path, std::ostream& out, const std::string& table) {
  if (table != "results" && table != "models" && table != "samples" && table != "curves")
    throw ConfigError("unknown table '" + table + "' for export of " + path +
                      ": expected results, models, samples or curves");
  if (table == "curves") return write_curves(path, out);
  ResultsReader reader(path);
  if (table == "results") write_results(reader, out);
  else if (table == "models") write_models(reader, out);
  else write_samples(reader, out);
}

StatusSummary status_summary(const std::string& path) {
  StatusSummary s;
  s.path = path;
  ResultsReader reader(path);
  s.active = writer_active(path);
  std::map<int32_t, std::string> names;
  for (const auto& m : reader.models()) names[m.model_index] = m.name;
  for (const auto& r : reader.rows()) {
    auto name = names.find(r.model_index);
    count(s.all, r.status);
    count(s.by_model[name != names.end() ? name->second : std::to_string(r.model_index)], r.status);
    count(s.by_k_length[{r.n_mem, r.length}], r.status);
  }
  s.total_rows = static_cast<int64_t>(reader.rows().size());
  return s;
}

std::string StatusSummary::text() const {
  std::string t = fmt::format("{}: {} rows, {}\n", path, total_rows,
                              active ? "a run is writing it now" : "no run is writing it");
  t += fmt::format("{:<24} {:>8} {:>8} {:>8} {:>8}\n", "model", "done", "failed", "skipped", "rows");
  for (const auto& [name, c] : by_model) t += fmt::format("{:<24} {}\n", name, counts_text(c));
  t += fmt::format("{:<24} {}\n", "all", counts_text(all));
  t += fmt::format("\n{:>6} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "k", "length", "done", "failed",
                   "skipped", "rows");
  for (const auto& [kl, c] : by_k_length)
    t += fmt::format("{:>6} {:>8} {}\n", kl.first, kl.second, counts_text(c));
  return t;
}

}  // namespace crammer
