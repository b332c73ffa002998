// The sweep config's loading: YAML and overrides through its field table (experiment_fields.cpp)
// and the YAML binder, corpus glob expansion, validation (validate.cpp), the fingerprint.
#include "crammer/config/loader.hpp"

#include <algorithm>
#include <cstring>
#include <glob.h>

#include "crammer/config/yaml_binder.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

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
  ExperimentConfig c;
  read_yaml(yaml_text, source_name, overrides, [&c](YamlBinder& b) { bind_fields(b, c); },
            "a mapping of sections (models, corpus, cram, ...)");
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
  return write_yaml([&c](YamlBinder& b) { bind_fields(b, c); });
}

std::vector<std::string> config_keys() {
  ExperimentConfig c;
  return yaml_keys([&c](YamlBinder& b) { bind_fields(b, c); });
}

std::string config_fingerprint(const ExperimentConfig& config) {
  // Only what changes results: batching, threads, device, logging and output do not.
  ExperimentConfig c;
  c.models = config.models;
  c.corpus = config.corpus;
  c.cram = config.cram;
  c.runtime.seed = config.runtime.seed;
  std::string text = write_yaml([&c](YamlBinder& b) { bind_fields(b, c); }, FloatText::digits17);
  // Keys added after results files first stored fingerprints count only away from their
  // defaults, so a file written before them still resumes.
  for (const char* line : {"\n  length_mode: grid\n", "\n  restarts: 1\n", "\n  mem_rank: 0\n", "\n  prefix_tokens: 0\n",
                           "\n  init: randn\n", "\n    schedule: constant\n", "\n    warmup_steps: 0\n",
                           "\n    min_lr: 0\n", "\n    min_lr: 0.0\n", "\n  in_context_control: false\n",
                           "\n    first_tokens: 0\n", "\n    first_weight: 1\n", "\n    first_weight: 1.0\n",
                           "\n    align_alpha: 0\n", "\n    align_alpha: 0.0\n", "\n    align_layers: 0\n",
                           "\n    align_from: first\n", "\n    align_distance: l2\n",
                           "\n  carry_optimizer: false\n", "\n    schedule_steps: 0\n",
                           "\n  one_step: off\n", "\n  growth: doubling\n", "\n  attention_mass: false\n"}) {
    const auto at = text.find(line);
    if (at != std::string::npos) text.erase(at, std::strlen(line) - 1);
  }
  // ... and so does the cram.loss section once all its keys are at their defaults.
  const std::string loss = "\n  loss:\n";
  const auto at = text.find(loss);
  if (at != std::string::npos && (at + loss.size() == text.size() || text[at + loss.size()] != ' '))
    text.erase(at, loss.size() - 1);
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
