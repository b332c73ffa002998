// Test helper for analysis/: writes a results file with the real store (ResultsWriter) from a
// JSON description of models, samples and result rows, then exports its three tables with
// the code behind `crammer export` (write_csv). Lets the Python tests read a file the store
// wrote without running the cramming engine. Not a tool for users.
//
//   analysis_write_results IN.json OUT.h5 CSV_PREFIX   # writes CSV_PREFIX{results,models,samples}.csv
#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crammer/store/export.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/store/status.hpp"
#include "crammer/store/results_writer.hpp"

namespace {

crammer::TaskStatus status_of(const std::string& s) {
  if (s == "done") return crammer::TaskStatus::done;
  if (s == "failed") return crammer::TaskStatus::failed;
  if (s == "skipped") return crammer::TaskStatus::skipped;
  if (s == "superseded") return crammer::TaskStatus::superseded;
  throw std::runtime_error("unknown status '" + s + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: analysis_write_results IN.json OUT.h5 CSV_PREFIX\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    nlohmann::json j = nlohmann::json::parse(in);
    crammer::RunInfo run;
    run.config_yaml = j.at("config_yaml").get<std::string>();
    run.config_fingerprint = "analysis-test";
    run.command_line = "analysis_write_results";
    run.start_time = "2025-01-01T00:00:00Z";
    run.hosts = {"localhost"};
    run.versions = {{"crammer", "test"}};
    std::vector<crammer::ModelRecord> models;
    for (const auto& m : j.at("models")) {
      crammer::ModelRecord r;
      r.model_index = m.at("model_index");
      r.name = m.at("name");
      r.path = m.at("path");
      r.dtype = m.at("dtype");
      r.model_type = m.at("model_type");
      r.d_model = m.at("d_model");
      r.num_layers = m.at("num_layers");
      r.vocab_size = m.at("vocab_size");
      r.n_params = m.at("n_params");
      models.push_back(r);
    }
    std::vector<crammer::SampleRecord> samples;
    for (const auto& s : j.at("samples")) {
      crammer::SampleRecord r;
      r.sample_id = s.at("sample_id");
      r.model_index = s.at("model_index");
      r.source = s.at("source");
      r.offset = s.at("offset");
      r.text_kind = s.at("text_kind");
      r.text = s.at("text");
      r.token_ids = s.at("token_ids").get<std::vector<int32_t>>();
      samples.push_back(r);
    }
    std::vector<crammer::TaskResult> rows;
    for (const auto& x : j.at("rows")) {
      crammer::TaskResult r;
      r.task_key = x.at("task_key");
      r.model_index = x.at("model_index");
      r.sample_id = x.at("sample_id");
      r.n_mem = x.at("n_mem");
      r.length = x.at("length");
      r.status = status_of(x.at("status"));
      r.n_tokens = x.at("n_tokens");
      r.n_targets = x.at("n_targets");
      r.baseline_loss = x.at("baseline_loss");
      r.baseline_acc = x.at("baseline_acc");
      r.best_acc = x.at("best_acc");
      r.best_loss = x.at("best_loss");
      r.steps = x.at("steps");
      r.steps_to_best = x.at("steps_to_best");
      r.converged = x.at("converged");
      r.info_gain_nats = x.at("info_gain_nats");
      r.info_gain_bits = x.at("info_gain_bits");
      r.token_gain = x.at("token_gain");
      r.decode_exact = x.at("decode_exact");
      r.decode_prefix = x.at("decode_prefix");
      r.wall_seconds = x.at("wall_seconds");
      r.rank = x.at("rank");
      r.device = x.at("device");
      r.error = x.at("error");
      rows.push_back(r);
    }
    {
      crammer::ResultsWriter w;
      w.open(argv[2], run, models, samples, crammer::OpenMode::fresh);
      // Several batches, as a run appends them.
      for (size_t i = 0; i < rows.size(); i += 7) {
        std::vector<crammer::TaskResult> batch(rows.begin() + i,
                                               rows.begin() + std::min(rows.size(), i + 7));
        w.append(batch);
      }
      w.close();
    }
    for (const char* table : {"results", "models", "samples"}) {
      std::ofstream out(std::string(argv[3]) + table + ".csv");
      crammer::write_csv(argv[2], out, table);
    }
  } catch (const std::exception& e) {
    std::cerr << "analysis_write_results: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
