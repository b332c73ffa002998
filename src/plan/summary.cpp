// The text of `crammer plan`: counts, cost bound (formula in summary.hpp), sample table.
#include "crammer/plan/summary.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace crammer {
namespace {

std::vector<int64_t> sorted_unique(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

std::string sci(double v) {
  std::ostringstream ss;
  if (v < 1e6) {
    ss << std::fixed << std::setprecision(0) << v;
  } else {
    ss << std::scientific << std::setprecision(3) << v;
  }
  return ss.str();
}

// First `width` characters of a text on one line (newlines shown as "\n").
std::string preview(const std::string& text, size_t width) {
  std::string out;
  for (char c : text) {
    if (out.size() >= width) break;
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else if (static_cast<unsigned char>(c) >= 0x80 && out.size() + 1 >= width) {
      break;  // do not cut a UTF-8 character at the edge
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

PlanCost estimate_cost(const ExperimentConfig& config, const Plan& plan) {
  const auto lengths = sorted_unique(config.cram.lengths);
  const std::string& search = config.cram.search;
  PlanCost cost;
  for (const auto& t : plan.tasks) {
    const double k = t.n_mem;
    if (!t.capacity_search) {
      cost.tokens_per_step += k + t.length;
      continue;
    }
    std::vector<int64_t> reach;
    for (auto l : lengths) {
      if (l <= t.length) reach.push_back(l);
    }
    if (search == "progressive") {
      for (auto l : reach) cost.tokens_per_step += k + static_cast<double>(l);
    } else {  // bisect
      double probes = std::ceil(std::log2(static_cast<double>(reach.size()) + 1.0));
      cost.tokens_per_step += probes * (k + t.length);
    }
  }
  cost.token_steps_upper = cost.tokens_per_step * static_cast<double>(config.cram.optimizer.max_steps);
  return cost;
}

std::string plan_summary(const ExperimentConfig& config, const Plan& plan) {
  const auto n_mems = sorted_unique(config.cram.n_mem);
  const auto lengths = sorted_unique(config.cram.lengths);
  const bool grid = config.cram.search == "grid";
  const auto& corpus = config.corpus;
  const size_t n_samples = plan.models.empty() ? 0 : plan.samples.size() / plan.models.size();
  std::ostringstream o;

  o << "plan" << (config.source_file.empty() ? "" : " of " + config.source_file) << "\n";
  o << "  search " << config.cram.search << "; n_mem " << join(n_mems) << "; lengths "
    << join(lengths) << "; " << n_samples << " samples\n";
  std::set<std::string> sources;
  for (const auto& s : plan.samples) sources.insert(s.source);
  o << "  corpus: " << corpus.format;
  for (const auto& kind : corpus.text_kind) {
    o << ", " << kind;
    if (corpus.format == "token-ids") break;  // token ids are what they are: no kinds
    if (kind == "random-words") {
      o << " from word list " << corpus.word_list.value_or("?");
    } else {
      o << " (samples from " << std::count_if(sources.begin(), sources.end(),
                                                [](const std::string& s) { return s != "random-words"; })
        << " of " << corpus.paths.size() << " file(s))";
    }
  }
  o << ", seed " << corpus.seed << "\n";

  o << "models\n";
  for (const auto& m : plan.models) {
    o << "  [" << m.model_index << "] " << m.name << "  " << m.path << "  " << m.dtype;
    if (!m.model_type.empty()) {
      o << "  " << m.model_type << " d_model " << m.d_model << ", " << m.num_layers
        << " layers, vocab " << m.vocab_size;
    }
    o << "\n";
  }

  // counts[model][k][length] = {tasks, skipped}; search tasks are counted under their length.
  std::map<int32_t, std::map<int32_t, std::map<int32_t, std::pair<int64_t, int64_t>>>> counts;
  for (const auto& t : plan.tasks) counts[t.model_index][t.n_mem][t.length].first++;
  for (const auto& r : plan.skipped) counts[r.model_index][r.n_mem][r.length].second++;
  std::vector<int64_t> columns = lengths;
  if (!grid) {  // search tasks capped at a shorter length show under that length
    std::set<int64_t> cols;
    for (const auto& t : plan.tasks) cols.insert(t.length);
    for (const auto& r : plan.skipped) cols.insert(r.length);
    columns.assign(cols.begin(), cols.end());
  }

  o << (grid ? "tasks per model, n_mem (rows) and length (columns): tasks+skipped\n"
             : "search tasks per model, n_mem (rows) and the largest length probed (columns): "
               "tasks+skipped\n");
  for (const auto& m : plan.models) {
    o << "  " << m.name << "\n    " << std::setw(6) << "k \\ L";
    for (auto l : columns) o << std::setw(10) << l;
    o << std::setw(12) << "total" << "\n";
    int64_t model_tasks = 0, model_skipped = 0;
    for (auto k : n_mems) {
      o << "    " << std::setw(6) << k;
      int64_t row_tasks = 0, row_skipped = 0;
      for (auto l : columns) {
        auto c = counts[m.model_index][static_cast<int32_t>(k)][static_cast<int32_t>(l)];
        o << std::setw(10) << (std::to_string(c.first) + "+" + std::to_string(c.second));
        row_tasks += c.first;
        row_skipped += c.second;
      }
      o << std::setw(12) << (std::to_string(row_tasks) + "+" + std::to_string(row_skipped)) << "\n";
      model_tasks += row_tasks;
      model_skipped += row_skipped;
    }
    o << "    " << m.name << ": " << model_tasks << " tasks, " << model_skipped << " skipped\n";
  }
  const int64_t points = static_cast<int64_t>(plan.models.size() * n_mems.size() *
                                              (grid ? lengths.size() : 1) * n_samples);
  o << "total: " << plan.tasks.size() << " tasks, " << plan.skipped.size() << " skipped (of "
    << points << " = " << plan.models.size() << " models x " << n_mems.size() << " n_mem x "
    << (grid ? std::to_string(lengths.size()) + " lengths x " : std::string()) << n_samples
    << " samples)\n";

  const PlanCost cost = estimate_cost(config, plan);
  const auto max_steps = config.cram.optimizer.max_steps;
  o << "cost: at most " << sci(cost.token_steps_upper) << " token-steps = "
    << (grid ? "sum over tasks of (k + L)"
             : config.cram.search == "bisect" ? "sum over tasks of ceil(log2(n_lengths + 1)) x (k + L)"
                                              : "sum over tasks and probed lengths of (k + L)")
    << " [" << sci(cost.tokens_per_step) << "] x max_steps [" << max_steps << "]\n";
  o << "  tasks stop at target_accuracy " << config.cram.optimizer.target_accuracy
    << ", or after patience " << config.cram.optimizer.patience
    << " steps without improvement; lengths beyond capacity run until then\n";

  o << "samples (tokens per model; text as the first model tokenizes it)\n";
  o << "  " << std::setw(5) << "id" << "  " << std::left << std::setw(24) << "source" << std::right
    << std::setw(10) << "offset";
  for (const auto& m : plan.models) o << std::setw(std::max<int>(8, static_cast<int>(m.name.size()) + 2)) << m.name;
  o << "  text\n";
  const size_t shown = std::min<size_t>(n_samples, 12);
  for (size_t i = 0; i < shown; ++i) {
    const auto& s0 = plan.samples[i];
    std::string src = std::filesystem::path(s0.source).filename().string();
    o << "  " << std::setw(5) << s0.sample_id << "  " << std::left << std::setw(24) << src
      << std::right << std::setw(10) << s0.offset;
    for (size_t m = 0; m < plan.models.size(); ++m) {
      const auto& s = plan.samples[m * n_samples + i];
      o << std::setw(std::max<int>(8, static_cast<int>(plan.models[m].name.size()) + 2))
        << s.token_ids.size();
    }
    o << "  \"" << preview(s0.text, 48) << "\"\n";
  }
  if (shown < n_samples) o << "  ... " << (n_samples - shown) << " more\n";
  for (size_t m = 0; m < plan.models.size(); ++m) {
    std::vector<size_t> n;
    for (size_t i = 0; i < n_samples; ++i) n.push_back(plan.samples[m * n_samples + i].token_ids.size());
    if (n.empty()) continue;
    std::sort(n.begin(), n.end());
    size_t short_count = 0;
    for (auto x : n) short_count += static_cast<int64_t>(x) < lengths.back();
    o << "  " << plan.models[m].name << ": tokens per sample min " << n.front() << ", median "
      << n[n.size() / 2] << ", max " << n.back() << "; " << short_count << " shorter than "
      << lengths.back() << "\n";
  }
  return o.str();
}

}  // namespace crammer
