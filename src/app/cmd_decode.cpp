// `crammer decode RESULTS.h5`: the [mem] vectors a sweep stored (output.save_memory) read back
// through their model: greedy generation from each selected row's best mem, printed beside
// the text it was crammed from. Independent of the run that made them: model, tokenizer,
// texts and vectors all come from the files.
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "crammer/config/loader.hpp"
#include "crammer/cram/ops.hpp"
#include "crammer/cram/one_step.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/printable.hpp"
#include "entry_model.hpp"
#include "options.hpp"

namespace crammer {
namespace {

// TEXT as one quoted line: newlines and quotes escaped, so a decoded text cannot hide in the
// layout.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return printable(out + "\"");
}

// The rows to show: those asked for, else up to LIMIT rows with stored vectors, exact decodes
// and longer texts first.
std::vector<size_t> pick_rows(const ResultsReader& file, const std::vector<int>& asked, int limit) {
  const auto& rows = file.rows();
  std::vector<size_t> out;
  for (int r : asked) {
    if (r < 0 || static_cast<size_t>(r) >= rows.size())
      throw ConfigError("--row " + std::to_string(r) + ": " + file.path() + " has rows 0.." +
                        std::to_string(static_cast<int64_t>(rows.size()) - 1));
    if (rows[r].memory.empty())
      throw ConfigError("--row " + std::to_string(r) + " (" + rows[r].task_key + "): " + file.path() +
                        " holds no [mem] vectors for it (output.save_memory was off, or the row failed)");
    out.push_back(static_cast<size_t>(r));
  }
  if (!asked.empty()) return out;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].memory.empty() && rows[i].status == TaskStatus::done) out.push_back(i);
  if (out.empty())
    throw ConfigError(file.path() + ": no row has its [mem] vectors stored (run the sweep with "
                                    "output.save_memory: true)");
  std::stable_sort(out.begin(), out.end(), [&](size_t a, size_t b) {
    if (rows[a].decode_exact != rows[b].decode_exact) return rows[a].decode_exact;
    return rows[a].length > rows[b].length;
  });
  if (limit > 0 && out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
  return out;
}

const SampleRecord& sample_of(const ResultsReader& file, const TaskResult& row) {
  for (const auto& s : file.samples())
    if (s.sample_id == row.sample_id && s.model_index == row.model_index) return s;
  throw StoreError(file.path() + ": row " + row.task_key + ": sample " + std::to_string(row.sample_id) +
                   " is not in /samples");
}

}  // namespace

int cmd_decode(const Args& args) {
  po::options_description desc("options");
  desc.add_options()("row", po::value<std::vector<int>>()->multitoken(),
                     "rows to decode (0-based, as `crammer export` lists them); default: the best ones")(
      "limit", po::value<int>()->default_value(3), "without --row: how many rows (0: all with vectors)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu | cuda | cuda:N")(
      "threads", po::value<int>()->default_value(2), "CPU threads");
  po::options_description hidden;
  hidden.add_options()("results", po::value<std::string>()->required(), "results file");
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map vm;
  if (!parse_command_line("decode", "RESULTS.h5 [--row N ...]", desc, pos, args, vm, hidden)) return 0;
  at::set_num_threads(std::max(1, vm["threads"].as<int>()));
  const std::string path = vm["results"].as<std::string>();
  ResultsReader file(path, ReadOptions{/*memory=*/true, /*curves=*/false});
  const ExperimentConfig config = parse_config(file.run().config_yaml, path + " (the sweep's stored config)");
  const auto picked = pick_rows(file, vm.count("row") ? vm["row"].as<std::vector<int>>() : std::vector<int>{},
                                vm["limit"].as<int>());
  const torch::Device device(vm["device"].as<std::string>());
  const auto P = static_cast<size_t>(config.corpus.prefix_tokens);
  // One-step rows store the carrier's vectors, e_1..e_k then m ([k + 1, d]), and score t_1 too.
  const bool one_step = one_step_on(config.cram);
  const bool pft = first_token_scored(config.cram);
  int32_t held = -1;
  std::shared_ptr<CausalLM> model;
  std::unique_ptr<Tokenizer> tok;
  int mismatched = 0;
  for (size_t r : picked) {
    const TaskResult& row = file.rows()[r];
    const auto& entry = config.models.at(row.model_index);
    if (held != row.model_index) {
      model = load_entry_model(entry, device);
      tok = load_tokenizer(entry.tokenizer_dir());
      held = row.model_index;
    }
    const SampleRecord& sample = sample_of(file, row);
    if (sample.token_ids.size() < P + static_cast<size_t>(row.length))
      throw StoreError(path + ": row " + row.task_key + ": sample " + std::to_string(row.sample_id) + " has " +
                       std::to_string(sample.token_ids.size()) + " tokens, fewer than its context and length");
    std::vector<int32_t> context(sample.token_ids.begin(), sample.token_ids.begin() + P);
    std::vector<int32_t> text(sample.token_ids.begin() + P, sample.token_ids.begin() + P + row.length);
    const int64_t k = row.n_mem, d = row.d_model;
    const int64_t stored = static_cast<int64_t>(row.memory.size()) / std::max<int64_t>(1, d);
    if (stored != k + (one_step ? 1 : 0))
      throw StoreError(path + ": row " + row.task_key + ": " + std::to_string(stored) + " stored vectors, expected " +
                       std::to_string(k + (one_step ? 1 : 0)) + (one_step ? " (e_1..e_k, then m)" : ""));
    auto mem = torch::from_blob(const_cast<float*>(row.memory.data()), {1, stored, d}, torch::kFloat32).clone();
    GreedyDecode dec = one_step ? one_step_decode(*model, mem, {}, k, {text})
                                : greedy_decode(*model, mem, {text}, pft, P > 0 ? std::vector<std::vector<int32_t>>{context}
                                                                               : std::vector<std::vector<int32_t>>{});
    // What the model read off the vectors: t_1 given (unless crammed too), then its own tokens
    // (one-step: every token from one pass).
    std::vector<int32_t> generated(text.begin(), text.begin() + (pft ? 0 : 1));
    generated.insert(generated.end(), dec.tokens[0].begin(), dec.tokens[0].end());
    const int32_t bos = file.models().at(row.model_index).bos_token;
    auto shown = [&](std::vector<int32_t> ids) {
      if (!ids.empty() && ids.front() == bos) ids.erase(ids.begin());  // the BOS is not text
      return tok->decode(ids);
    };
    const int32_t targets = static_cast<int32_t>(dec.tokens[0].size());
    const bool exact = dec.prefix[0] == targets;
    mismatched += exact == row.decode_exact ? 0 : 1;
    std::cout << "row " << r << " (" << row.task_key << "): " << entry.name << ", k " << k << ", "
              << row.length << " tokens, best accuracy " << std::fixed << std::setprecision(3) << row.best_acc
              << ", " << row.steps << " steps\n"
              << "  crammed: " << quoted(shown(text)) << "\n"
              << "  decoded: " << quoted(shown(generated)) << "\n"
              << "  " << dec.matches[0] << " of " << targets << " generated tokens right"
              << (exact ? ": decoded exactly" : ", first mistake at target " + std::to_string(dec.prefix[0] + 1))
              << (P > 0 ? " (after " + std::to_string(P) + " context tokens)" : "") << "\n";
  }
  if (mismatched > 0) {
    std::cerr << "crammer decode: " << mismatched << " row(s) decode differently from their stored decode_exact "
              << "(another device or dtype can change a near tie)\n";
  }
  return 0;
}

}  // namespace crammer
