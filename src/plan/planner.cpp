// Config + corpus + tokenizers -> Plan (models, samples, tasks, skipped rows). The rules (keys,
// order, skipping) are documented in planner.hpp. Not here: the summary text (summary.cpp).
#include "crammer/plan/planner.hpp"

#include <set>
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "crammer/plan/copy_prompt.hpp"
#include "crammer/core/result.hpp"
#include "crammer/model/hf_config.hpp"
#include "crammer/model/checkpoint_info.hpp"
#include "crammer/text/corpus_samples.hpp"
#include "crammer/text/tokenizer.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

std::vector<int64_t> sorted_unique(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}


std::string source_of(const ExperimentConfig& config) {
  return config.source_file.empty() ? std::string("config") : config.source_file;
}

// The longest input a task gives the model ([mem] vectors + context + the longest text) must fit
// its positions (config.json's max_position_embeddings).
void check_positions(const ExperimentConfig& config, const ModelEntry& m, const ModelSpec& spec) {
  const int64_t max_len = *std::max_element(config.cram.lengths.begin(), config.cram.lengths.end());
  const int64_t max_k = *std::max_element(config.cram.n_mem.begin(), config.cram.n_mem.end());
  const int64_t context = config.corpus.prefix_tokens;
  const int64_t total = max_len + max_k + context;
  // 0: no position limit (mamba has no position embeddings).
  if (spec.max_position_embeddings == 0 || total <= spec.max_position_embeddings) return;
  throw ConfigError(source_of(config) + ": cram.lengths: max length " + std::to_string(max_len) + " + max n_mem " + std::to_string(max_k) +
                    (context > 0 ? " + corpus.prefix_tokens " + std::to_string(context) : std::string()) +
                    " = " + std::to_string(total) + " positions > max_position_embeddings " +
                    std::to_string(spec.max_position_embeddings) + " of model " + m.name + " (" +
                    (std::filesystem::path(m.path) / "config.json").string() + ")");
}

// Sliding-window layers (mistral, qwen2/3...) attend only to the last W positions: where the
// [mem] vectors plus the text are longer, the last tokens cannot see the [mem] vectors there.
std::optional<std::string> sliding_window_note(const ExperimentConfig& config, const ModelEntry& m, const ModelSpec& spec) {
  const int64_t window = max_sliding_window(spec);
  const int64_t max_len = *std::max_element(config.cram.lengths.begin(), config.cram.lengths.end());
  const int64_t max_k = *std::max_element(config.cram.n_mem.begin(), config.cram.n_mem.end()) +
                        config.corpus.prefix_tokens;  // the context sits between [mem] and text
  if (window == 0 || max_len + max_k <= window) return std::nullopt;
  const auto sliding = std::count_if(spec.layer_windows.begin(), spec.layer_windows.end(), [](int64_t w) { return w > 0; });
  return "model " + m.name + " (" + spec.model_type + "): " + std::to_string(sliding) + " of " +
         std::to_string(spec.num_layers) + " layers use a sliding attention window of " + std::to_string(window) +
         " positions, and max n_mem" + (config.corpus.prefix_tokens > 0 ? " + corpus.prefix_tokens" : "") + " " +
         std::to_string(max_k) + " + max length " + std::to_string(max_len) +
         " is longer: in those layers tokens more than " + std::to_string(window - 1) +
         " positions after a [mem] vector do not see it";
}

ModelRecord model_record(const ExperimentConfig& config, size_t index, std::vector<std::string>& notes) {
  const ModelEntry& m = config.models[index];
  ModelRecord r;
  r.model_index = static_cast<int32_t>(index);
  r.name = m.name;
  r.path = m.path;
  r.dtype = m.dtype;
  // Only config.json and the safetensors headers are read, no weights.
  if (std::filesystem::is_regular_file(std::filesystem::path(m.path) / "config.json")) {
    ModelSpec spec;
    try {
      spec = read_model_spec(m.path);
      if (has_checkpoint(m.path)) r.n_params = count_parameters(m.path);  // headers only
    } catch (const Error& e) {
      throw ConfigError(source_of(config) + ": models." + std::to_string(index) + ".path: " + e.what());
    }
    check_positions(config, m, spec);
    if (auto note = sliding_window_note(config, m, spec)) notes.push_back(*note);
    r.model_type = spec.model_type;
    r.d_model = spec.hidden_size;
    r.num_layers = spec.num_layers;
    r.vocab_size = spec.vocab_size;
  } else {
    spdlog::warn("plan: model '{}': no config.json in '{}'; model_type, d_model, num_layers and "
                 "vocab_size left unknown", m.name, m.path);
  }
  return r;
}

// corpus.add_bos for one model: the BOS id its texts start with, or none.
std::optional<int32_t> resolve_bos(const std::string& add_bos, const Tokenizer* tok,
                                   const std::string& model) {
  if (tok == nullptr || add_bos == "false") return std::nullopt;
  if (add_bos == "auto") return tok->uses_bos() ? tok->bos_id() : std::nullopt;
  if (!tok->bos_id())
    throw ConfigError("corpus.add_bos: true, but the tokenizer of model '" + model +
                      "' has no BOS token (" + tok->describe() + "); use auto or false");
  return tok->bos_id();
}

// `sample_tokens`: the whole sample's, context included; `context`: corpus.prefix_tokens.
TaskResult skipped_row(const std::string& key, const Task& t, size_t sample_tokens, int64_t context,
                       const std::string& model_name, const std::string& why) {
  TaskResult r;
  r.task_key = key;
  r.model_index = t.model_index;
  r.sample_id = t.sample_id;
  r.n_mem = t.n_mem;
  r.length = t.length;
  r.restart = t.restart;
  r.status = TaskStatus::skipped;
  r.error = "sample " + std::to_string(t.sample_id) + " has " + std::to_string(sample_tokens) +
            " tokens for model '" + model_name + "', fewer than " +
            (context > 0 ? "corpus.prefix_tokens " + std::to_string(context) + " + " : std::string()) + why;
  return r;
}

}  // namespace

namespace {

// The paper's random-length draw: uniform on [2, max_length], from (corpus.seed, sample id) only,
// so a sample keeps its length whatever the other samples, models or rank count.
int64_t drawn_length(uint64_t seed, int64_t sample_id, int64_t max_length) {
  uint64_t x = seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(sample_id) + 1));
  for (int i = 0; i < 2; ++i) {  // splitmix64 finaliser, twice
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
  }
  return 2 + static_cast<int64_t>(x % static_cast<uint64_t>(std::max<int64_t>(1, max_length - 1)));
}

std::string restart_suffix(int64_t restart) { return restart < 0 ? "" : "/r" + std::to_string(restart); }

// Entry i: UTF-8 bytes of the first i tokens decoded, BOS left out; -1 unless `all` or i is in
// `lengths`. Empty without a tokenizer.
std::vector<int32_t> prefix_bytes(const std::vector<int32_t>& ids, const Tokenizer* tok, std::optional<int32_t> bos,
                                  const std::vector<int64_t>& lengths, bool all) {
  if (tok == nullptr) return {};
  std::vector<int32_t> out(ids.size() + 1, -1);
  const size_t skip = bos && !ids.empty() && ids.front() == *bos ? 1 : 0;
  out[0] = 0;
  for (size_t i = 1; i <= ids.size(); ++i) {
    if (!all && !std::binary_search(lengths.begin(), lengths.end(), static_cast<int64_t>(i))) continue;
    const std::vector<int32_t> prefix(ids.begin() + static_cast<std::ptrdiff_t>(std::min(skip, i)),
                                      ids.begin() + static_cast<std::ptrdiff_t>(i));
    out[i] = static_cast<int32_t>(tok->decode(prefix).size());
  }
  return out;
}

}  // namespace

std::string grid_task_key(const std::string& model, int64_t n_mem, int64_t length, int64_t sample_id,
                          int64_t restart) {
  return model + "/k" + std::to_string(n_mem) + "/L" + std::to_string(length) + "/s" +
         std::to_string(sample_id) + restart_suffix(restart);
}

std::string search_task_key(const std::string& model, int64_t n_mem, int64_t sample_id, int64_t restart) {
  return model + "/k" + std::to_string(n_mem) + "/search/s" + std::to_string(sample_id) + restart_suffix(restart);
}

Plan make_plan(const ExperimentConfig& config) {
  // One tokenizer per directory: models sharing a tokenizer load it once.
  std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  std::vector<const Tokenizer*> toks;
  const bool optional = config.corpus.format == "token-ids";
  for (const auto& m : config.models) {
    std::string dir = m.tokenizer_dir();
    if (optional && !has_tokenizer(dir)) {
      toks.push_back(nullptr);
      continue;
    }
    auto it = loaded.find(dir);
    if (it == loaded.end()) {
      try {
        it = loaded.emplace(dir, load_tokenizer(dir)).first;
      } catch (const Error& e) {
        const std::string key = "models." + std::to_string(toks.size()) + (m.tokenizer.empty() ? ".path" : ".tokenizer");
        throw ConfigError(source_of(config) + ": " + key + ": " + e.what());
      }
    }
    toks.push_back(it->second.get());
  }
  return make_plan(config, toks);
}

Plan make_plan(const ExperimentConfig& config, const std::vector<const Tokenizer*>& tokenizers) {
  if (config.models.empty()) throw ConfigError("models: no model to plan for");
  if (tokenizers.size() != config.models.size()) {
    throw ConfigError("make_plan: " + std::to_string(tokenizers.size()) + " tokenizers for " +
                      std::to_string(config.models.size()) + " models");
  }
  const auto n_mems = sorted_unique(config.cram.n_mem);
  const auto lengths = sorted_unique(config.cram.lengths);
  if (n_mems.empty() || lengths.empty()) throw ConfigError("cram.n_mem and cram.lengths must not be empty");
  const int64_t max_length = lengths.back();
  const bool grid = config.cram.search == "grid";
  const bool uniform = config.cram.length_mode == "uniform";
  const int64_t restarts = config.cram.restarts;
  const int64_t last_restart = restarts > 1 ? restarts - 1 : -1;

  Plan plan;
  std::vector<SampleModel> sample_models;
  for (size_t i = 0; i < config.models.size(); ++i) {
    plan.models.push_back(model_record(config, i, plan.notes));
    // The embedding matrix bounds the ids (config.json); the tokenizer's size is the fallback.
    int64_t vocab = plan.models.back().vocab_size;
    if (vocab == 0 && tokenizers[i]) vocab = tokenizers[i]->vocab_size();
    auto bos = config.corpus.format == "token-ids"
                   ? std::nullopt
                   : resolve_bos(config.corpus.add_bos, tokenizers[i], config.models[i].name);
    plan.models.back().bos_token = bos ? *bos : -1;
    sample_models.push_back(SampleModel{config.models[i].name, tokenizers[i], vocab, bos});
  }

  // Task keys are stored in fixed-width text: refuse a name that makes the longest one too long
  // now, not after the first batch.
  const int64_t max_sample = config.corpus.samples * static_cast<int64_t>(config.corpus.text_kind.size()) - 1;
  for (size_t i = 0; i < config.models.size(); ++i) {
    const std::string& name = config.models[i].name;
    const std::string longest = grid ? grid_task_key(name, n_mems.back(), max_length, max_sample, last_restart)
                                     : search_task_key(name, n_mems.back(), max_sample, last_restart);
    if (longest.size() >= static_cast<size_t>(kTaskKeyWidth))
      throw ConfigError(source_of(config) + ": models." + std::to_string(i) + ".name: '" + name + "' (" +
                        std::to_string(name.size()) + " bytes) makes task keys such as '" + longest + "' " +
                        std::to_string(longest.size()) + " bytes long; the results file holds at most " +
                        std::to_string(kTaskKeyWidth - 1) + ": use a shorter name");
  }
  // With a context each sample is that many tokens longer: its first tokens become the context.
  const int64_t context = config.corpus.prefix_tokens;
  const auto samples = build_samples(config.corpus, max_length + context, sample_models);
  // A tokenizer bigger than the model's embedding would index past it in every task of the model.
  for (size_t m = 0; m < config.models.size(); ++m) {
    const int64_t vocab = plan.models[m].vocab_size;
    if (vocab <= 0 || !tokenizers[m]) continue;
    for (const auto& s : samples)
      for (int32_t id : s.token_ids[m])
        if (id >= vocab)
          throw ConfigError(source_of(config) + ": models." + std::to_string(m) +
                            (config.models[m].tokenizer.empty() ? ".path" : ".tokenizer") + ": the tokenizer of model '" +
                            config.models[m].name + "' (" + tokenizers[m]->describe() + ") gives sample " +
                            std::to_string(s.sample_id) + " token id " + std::to_string(id) + ", but the model's vocab_size is " +
                            std::to_string(vocab) + " (config.json): tokenizer and model do not belong together");
  }
  for (size_t m = 0; m < config.models.size(); ++m) {
    for (const auto& s : samples) {
      SampleRecord r;
      r.sample_id = s.sample_id;
      r.model_index = static_cast<int32_t>(m);
      r.source = s.source;
      r.offset = s.offset;
      r.text_offset = s.text_offset;
      r.text_kind = s.text_kind;
      r.text = s.texts[m];
      r.token_ids = s.token_ids[m];
      plan.samples.push_back(std::move(r));
    }
  }

  if (config.cram.in_context_control) {
    for (size_t m = 0; m < config.models.size(); ++m)
      if (!tokenizers[m])
        throw ConfigError(source_of(config) + ": cram.in_context_control: model '" + config.models[m].name +
                          "' has no tokenizer to write the prompt \"text: ... repeat previous text: \" with "
                          "(corpus.format token-ids: set models." + std::to_string(m) + ".tokenizer)");
  }
  for (size_t m = 0; m < config.models.size(); ++m) {
    const std::string& name = config.models[m].name;
    // Byte counts per sample, at the grid's lengths (a search may probe any length).
    // A context holds the BOS, so the crammed text after it has none.
    std::optional<int32_t> bos;
    if (plan.models[m].bos_token >= 0 && context == 0) bos = plan.models[m].bos_token;
    std::vector<std::vector<int32_t>> bytes, contexts, texts;
    std::vector<std::vector<int64_t>> sample_lengths(samples.size(), lengths);
    for (size_t i = 0; i < samples.size(); ++i) {
      const auto& ids = plan.samples[m * samples.size() + i].token_ids;
      const auto cut = ids.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(ids.size(), static_cast<size_t>(context)));
      contexts.emplace_back(ids.begin(), cut);
      texts.emplace_back(cut, ids.end());
      if (uniform) sample_lengths[i] = {drawn_length(config.corpus.seed, samples[i].sample_id, max_length)};
      bytes.push_back(prefix_bytes(texts.back(), tokenizers[m], bos, sample_lengths[i], !grid));
    }
    for (int64_t k : n_mems) {
      for (int64_t j = 0; j < restarts; ++j) {
        const int64_t restart = restarts > 1 ? j : -1;
        auto add = [&](int64_t length, size_t i) {
          const SampleRecord& s = plan.samples[m * samples.size() + i];
          const std::vector<int32_t>& text = texts[i];
          const std::vector<int32_t>& sample_bytes = bytes[i];
          // Without its whole context a sample has no text to cram.
          const size_t available = contexts[i].size() == static_cast<size_t>(context) ? text.size() : 0;
          Task t;
          t.model_index = static_cast<int32_t>(m);
          t.sample_id = s.sample_id;
          t.n_mem = static_cast<int32_t>(k);
          t.length = static_cast<int32_t>(length);
          t.restart = static_cast<int32_t>(j);
          t.capacity_search = !grid;
          if (grid) {
            t.key = grid_task_key(name, k, length, s.sample_id, restart);
            if (static_cast<int64_t>(available) < length) {
              plan.skipped.push_back(
                  skipped_row(t.key, t, s.token_ids.size(), context, name, "length " + std::to_string(length)));
              return;
            }
          } else {
            t.key = search_task_key(name, k, s.sample_id, restart);
            // Cap the search at the largest grid length this sample reaches.
            auto reach = std::upper_bound(lengths.begin(), lengths.end(), static_cast<int64_t>(available));
            if (reach == lengths.begin()) {
              plan.skipped.push_back(skipped_row(t.key, t, s.token_ids.size(), context, name,
                                                 "the smallest length " + std::to_string(lengths.front())));
              return;
            }
            t.length = static_cast<int32_t>(*(reach - 1));
          }
          t.context = contexts[i];
          t.token_ids.assign(text.begin(), text.begin() + t.length);
          if (config.cram.in_context_control) {
            t.copy_from = bos && !t.token_ids.empty() && t.token_ids.front() == *bos ? 1 : 0;
            const std::vector<int32_t> copied(t.token_ids.begin() + t.copy_from, t.token_ids.end());
            t.copy_prompt = copy_prompt(*tokenizers[m], copied, plan.models[m].bos_token);
          }
          if (!sample_bytes.empty()) t.prefix_bytes.assign(sample_bytes.begin(), sample_bytes.begin() + t.length + 1);
          plan.tasks.push_back(std::move(t));
        };
        if (uniform) {
          for (size_t i = 0; i < samples.size(); ++i) add(sample_lengths[i].front(), i);
        } else if (grid) {
          for (int64_t length : lengths) {
            for (size_t i = 0; i < samples.size(); ++i) add(length, i);
          }
        } else {
          for (size_t i = 0; i < samples.size(); ++i) add(max_length, i);
        }
      }
    }
  }
  if (plan.tasks.empty() && !plan.skipped.empty()) {
    // Nothing would run: a sweep of skipped rows only is a config that does not fit its texts.
    size_t longest = 0;
    for (const auto& s : plan.samples) longest = std::max(longest, s.token_ids.size());
    throw ConfigError(source_of(config) + ": every one of the " + std::to_string(plan.skipped.size()) +
                      " tasks would be skipped: the longest sample has " + std::to_string(longest) +
                      " tokens, fewer than " +
                      (context > 0 ? "corpus.prefix_tokens " + std::to_string(context) + " + " : std::string()) +
                      "the smallest length " + std::to_string(lengths.front()) + " (cram.lengths)" +
                      (context > 0 ? "; use a smaller corpus.prefix_tokens, shorter lengths or longer texts"
                                   : "; use shorter lengths or longer texts"));
  }
  // Distinct task keys per model: a skipped capacity search holds one row per length it skips.
  std::vector<std::set<std::string>> keys(plan.models.size());
  for (const auto& t : plan.tasks) keys.at(static_cast<size_t>(t.model_index)).insert(t.key);
  for (const auto& r : plan.skipped) keys.at(static_cast<size_t>(r.model_index)).insert(r.task_key);
  for (size_t m = 0; m < plan.models.size(); ++m) plan.models[m].planned_tasks = static_cast<int64_t>(keys[m].size());
  return plan;
}

std::string plan_to_json(const Plan& plan) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["models"] = ordered_json::array();
  for (const auto& m : plan.models) {
    j["models"].push_back({{"model_index", m.model_index}, {"name", m.name}, {"path", m.path},
                           {"dtype", m.dtype}, {"model_type", m.model_type}, {"d_model", m.d_model},
                           {"num_layers", m.num_layers}, {"vocab_size", m.vocab_size},
                           {"n_params", m.n_params}});
  }
  j["samples"] = ordered_json::array();
  for (const auto& s : plan.samples) {
    j["samples"].push_back({{"sample_id", s.sample_id}, {"model_index", s.model_index},
                            {"source", s.source}, {"offset", s.offset}, {"text_offset", s.text_offset},
                            {"text_kind", s.text_kind}, {"text", s.text}, {"token_ids", s.token_ids}});
  }
  j["tasks"] = ordered_json::array();
  for (const auto& t : plan.tasks) {
    j["tasks"].push_back({{"key", t.key}, {"model_index", t.model_index}, {"sample_id", t.sample_id},
                          {"n_mem", t.n_mem}, {"length", t.length}, {"restart", t.restart},
                          {"capacity_search", t.capacity_search}, {"context", t.context}, {"token_ids", t.token_ids},
                          {"prefix_bytes", t.prefix_bytes}});
  }
  j["skipped"] = ordered_json::array();
  for (const auto& r : plan.skipped) {
    j["skipped"].push_back({{"task_key", r.task_key}, {"model_index", r.model_index},
                            {"sample_id", r.sample_id}, {"n_mem", r.n_mem}, {"length", r.length},
                            {"status", to_string(r.status)}, {"error", r.error}});
  }
  // Replacement: a byte-level BPE decode may end inside a UTF-8 character.
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace crammer
