// Value checks right after parsing, with the arithmetic in the message (STYLE 4). Cross-checks
// that need a model read only its config.json (no weights, no LibTorch).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "crammer/config/loader.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace fs = std::filesystem;
namespace {

class Checker {
 public:
  explicit Checker(const ExperimentConfig& c) : source_(c.source_file.empty() ? "config" : c.source_file) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(source_ + ": " + key + ": " + what);
  }
  void one_of(const std::string& key, const std::string& v, std::initializer_list<const char*> allowed) const {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += (list.empty() ? "" : " | ") + std::string(a);
    }
    fail(key, "'" + v + "' is not one of " + list);
  }
  template <class T>
  void at_least(const std::string& key, T v, T lo) const {
    if (v < lo) fail(key, "must be >= " + num(lo) + ", got " + num(v));
  }
  void in_range(const std::string& key, double v, double lo, double hi, bool hi_inclusive) const {
    if (!(v >= lo && (hi_inclusive ? v <= hi : v < hi)))
      fail(key, "must be in [" + num(lo) + ", " + num(hi) + (hi_inclusive ? "]" : ")") + ", got " + num(v));
  }
  void positive(const std::string& key, double v) const {
    if (!(v > 0)) fail(key, "must be > 0, got " + num(v));
  }
  void non_empty(const std::string& key, size_t n) const {
    if (n == 0) fail(key, "must not be empty");
  }
  void file_exists(const std::string& key, const std::string& path) const {
    if (fs::is_directory(path)) fail(key, "'" + path + "' is a directory; expected a file");
    if (!fs::is_regular_file(path)) fail(key, "file '" + path + "' does not exist");
  }
  template <class T>
  static std::string num(T v) {
    std::string s = std::to_string(v);
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  }

 private:
  std::string source_;
};

}  // namespace

void validate(const ExperimentConfig& c, const LoadOptions& options) {
  Checker ck(c);

  ck.non_empty("models", c.models.size());
  std::set<std::string> names;
  for (size_t i = 0; i < c.models.size(); ++i) {
    const auto& m = c.models[i];
    std::string p = "models." + std::to_string(i);
    if (m.name.empty()) ck.fail(p + ".name", "must not be empty");
    if (m.name.find_first_of("/ \t") != std::string::npos)
      ck.fail(p + ".name", "'" + m.name + "' must not contain '/' or spaces (it is part of task keys)");
    if (!names.insert(m.name).second) ck.fail(p + ".name", "'" + m.name + "' is used by two models");
    if (m.path.empty()) ck.fail(p + ".path", "must name a Hugging Face checkpoint directory");
    ck.one_of(p + ".dtype", m.dtype, {"f32", "bf16"});
    if (options.check_files) {
      if (fs::exists(m.path) && !fs::is_directory(m.path))
        ck.fail(p + ".path", "'" + m.path + "' is a file; expected a Hugging Face checkpoint directory");
      if (!fs::is_directory(m.path)) ck.fail(p + ".path", "directory '" + m.path + "' does not exist");
      if (!fs::is_regular_file(fs::path(m.path) / "config.json"))
        ck.fail(p + ".path", "'" + m.path + "' has no config.json (expected a Hugging Face checkpoint directory)");
      if (!m.tokenizer.empty() && !fs::is_directory(m.tokenizer))
        ck.fail(p + ".tokenizer", "directory '" + m.tokenizer + "' does not exist");
    }
  }

  const auto& corpus = c.corpus;
  ck.one_of("corpus.format", corpus.format, {"text", "jsonl", "token-ids"});
  ck.non_empty("corpus.text_kind", corpus.text_kind.size());
  for (size_t i = 0; i < corpus.text_kind.size(); ++i) {
    const std::string key = "corpus.text_kind[" + std::to_string(i) + "]";
    ck.one_of(key, corpus.text_kind[i], {"natural", "random-words"});
    for (size_t j = 0; j < i; ++j)
      if (corpus.text_kind[j] == corpus.text_kind[i]) ck.fail(key, "'" + corpus.text_kind[i] + "' is listed twice");
  }
  ck.at_least<int64_t>("corpus.samples", corpus.samples, 1);
  ck.at_least<int64_t>("corpus.prefix_tokens", corpus.prefix_tokens, 0);
  if (corpus.prefix_tokens > 1000000)
    ck.fail("corpus.prefix_tokens", "must be <= 1000000, got " + std::to_string(corpus.prefix_tokens));
  ck.one_of("corpus.add_bos", corpus.add_bos, {"auto", "true", "false"});
  if (corpus.format == "token-ids" && corpus.add_bos == "true")
    ck.fail("corpus.add_bos", "true needs a tokenizer's BOS; token-ids corpora are used as given "
                              "(write the BOS id into the lines instead)");
  const auto has_kind = [&](const char* kind) {
    return std::find(corpus.text_kind.begin(), corpus.text_kind.end(), kind) != corpus.text_kind.end();
  };
  if (has_kind("random-words")) {
    if (!corpus.word_list || corpus.word_list->empty())
      ck.fail("corpus.word_list", "is required when corpus.text_kind is random-words (a file of words, one per line)");
    if (corpus.format == "token-ids")
      ck.fail("corpus.text_kind", "random-words texts are made of words; they cannot come from a token-ids corpus");
    if (options.check_files) ck.file_exists("corpus.word_list", *corpus.word_list);
  }
  if (has_kind("natural") || corpus.format == "token-ids") ck.non_empty("corpus.paths", corpus.paths.size());
  if (corpus.format == "jsonl" && corpus.text_field.empty()) ck.fail("corpus.text_field", "must not be empty");
  if (options.check_files) {
    for (size_t i = 0; i < corpus.paths.size(); ++i)
      ck.file_exists("corpus.paths[" + std::to_string(i) + "]", corpus.paths[i]);
  }

  const auto& cram = c.cram;
  ck.non_empty("cram.n_mem", cram.n_mem.size());
  for (size_t i = 0; i < cram.n_mem.size(); ++i) {
    std::string key = "cram.n_mem[" + std::to_string(i) + "]";
    ck.at_least<int64_t>(key, cram.n_mem[i], 1);
    if (cram.n_mem[i] > 4096) ck.fail(key, "must be <= 4096, got " + std::to_string(cram.n_mem[i]));
  }
  ck.non_empty("cram.lengths", cram.lengths.size());
  int64_t min_len = cram.predict_first_token ? 1 : 2;
  for (size_t i = 0; i < cram.lengths.size(); ++i) {
    std::string key = "cram.lengths[" + std::to_string(i) + "]";
    if (cram.lengths[i] < min_len)
      ck.fail(key, "must be >= " + std::to_string(min_len) + " tokens (a text of N tokens has N-1 targets" +
                       std::string(cram.predict_first_token ? "" : " unless predict_first_token") + "), got " +
                       std::to_string(cram.lengths[i]));
  }
  ck.one_of("cram.search", cram.search, {"grid", "bisect", "progressive"});
  ck.one_of("cram.length_mode", cram.length_mode, {"grid", "uniform"});
  if (cram.in_context_control && cram.search != "grid")
    ck.fail("cram.in_context_control", "scores each grid row's text in context; cram.search " + cram.search +
                                           " chooses its lengths as it goes: use cram.search: grid");
  if (cram.length_mode == "uniform" && cram.search != "grid")
    ck.fail("cram.length_mode", "uniform draws each sample's length; cram.search " + cram.search +
                                    " searches lengths itself: use cram.search: grid");
  ck.at_least<int64_t>("cram.restarts", cram.restarts, 1);
  if (cram.restarts > 100000) ck.fail("cram.restarts", "must be <= 100000, got " + std::to_string(cram.restarts));
  if (cram.restarts > 1 && cram.init_mem)
    ck.fail("cram.restarts", "draws independent inits; cram.init_mem gives each task one fixed init: use one of them");
  // A search's probes depend on each other (progressive warm-starts each from the last; bisect
  // picks lengths from earlier outcomes): R searches per sample would need their own capacity
  // rule (best of R? mean?), which neither the paper nor the analysis defines.
  if (cram.restarts > 1 && cram.search != "grid")
    ck.fail("cram.restarts", "independent inits are defined for grid tasks (each length from its own init); "
                             "cram.search " + cram.search + " runs one search per sample: use cram.search: grid with "
                             "restarts, or restarts: 1");
  ck.at_least<int64_t>("cram.mem_rank", cram.mem_rank, 0);
  if (cram.mem_rank > 0 && cram.search == "progressive")
    ck.fail("cram.mem_rank", "progressive search starts each probe from the last probe's mem vectors, "
                             "which have no (z, W, b) of rank " + std::to_string(cram.mem_rank) +
                             ": use cram.search grid or bisect, or mem_rank 0");
  if (cram.mem_rank > 0 && cram.init_mem)
    ck.fail("cram.mem_rank", "cram.init_mem gives full [k, d] mem vectors, not (z, W, b) of rank " +
                             std::to_string(cram.mem_rank) + ": use one of them");
  ck.positive("cram.init_std_scale", cram.init_std_scale);
  ck.one_of("cram.init", cram.init, {"randn", "uniform", "vocab_gaussian", "text_mean", "file"});
  if (cram.init == "file" && !cram.init_mem)
    ck.fail("cram.init", "file starts each task from cram.init_mem, which is not set");
  if (cram.init_mem && cram.init != "randn" && cram.init != "file")
    ck.fail("cram.init", cram.init + " draws each start; cram.init_mem gives them: use init: file, or drop init_mem");
  if (cram.mem_rank > 0 && cram.init != "randn")
    ck.fail("cram.init", cram.init + " starts full [k, d] vectors; cram.mem_rank " + std::to_string(cram.mem_rank) +
                             " starts (z, W, b) from randn's scale: use init: randn");
  if (cram.init_mem) {
    if (cram.search != "grid")
      ck.fail("cram.init_mem", "starts grid tasks only (cram.search is " + cram.search + ")");
    if (options.check_files) ck.file_exists("cram.init_mem", *cram.init_mem);
  }
  ck.one_of("cram.one_step", cram.one_step, {"off", "per_text", "shared"});
  if (one_step_on(cram)) {
    const std::string carrier = "scores the carrier [e, m, .., m], which holds no text tokens; ";
    if (c.corpus.prefix_tokens > 0)
      ck.fail("cram.one_step", carrier + "corpus.prefix_tokens puts a context before the text: use one of them");
    if (cram.in_context_control)
      ck.fail("cram.one_step", carrier + "cram.in_context_control scores the text in context: use one of them");
    if (cram.loss.align_alpha > 0)
      ck.fail("cram.one_step", carrier + "cram.loss.align_alpha aligns the states of the text's tokens: use one of them");
    if (cram.mem_rank > 0)
      ck.fail("cram.one_step", "trains e and m as full vectors; cram.mem_rank " + std::to_string(cram.mem_rank) +
                                   " is for the autoregressive carrier: use mem_rank 0");
    if (cram.one_step == "shared" && cram.init == "text_mean")
      ck.fail("cram.init", "text_mean starts from a text, and the shared m of cram.one_step shared belongs to no "
                           "text: use another init");
  }
  const auto& o = cram.optimizer;
  ck.positive("cram.optimizer.lr", o.lr);
  ck.in_range("cram.optimizer.beta1", o.beta1, 0.0, 1.0, false);
  ck.in_range("cram.optimizer.beta2", o.beta2, 0.0, 1.0, false);
  ck.positive("cram.optimizer.eps", o.eps);
  ck.at_least("cram.optimizer.weight_decay", o.weight_decay, 0.0);
  ck.at_least<int64_t>("cram.optimizer.max_steps", o.max_steps, 0);
  ck.at_least<int64_t>("cram.optimizer.patience", o.patience, 1);
  if (!(o.target_accuracy > 0 && o.target_accuracy <= 1))
    ck.fail("cram.optimizer.target_accuracy", "must be in (0, 1], got " + Checker::num(o.target_accuracy));
  ck.one_of("cram.optimizer.schedule", o.schedule, {"constant", "cosine"});
  ck.at_least<int64_t>("cram.optimizer.warmup_steps", o.warmup_steps, 0);
  if (o.warmup_steps > o.max_steps)
    ck.fail("cram.optimizer.warmup_steps", std::to_string(o.warmup_steps) + " > cram.optimizer.max_steps " +
                                               std::to_string(o.max_steps) + ": the warmup would never end");
  if (!(o.min_lr >= 0 && o.min_lr <= o.lr))
    ck.fail("cram.optimizer.min_lr", "must be in [0, cram.optimizer.lr = " + Checker::num(o.lr) + "], got " +
                                         Checker::num(o.min_lr));
  if (o.schedule != "cosine" && o.min_lr != 0)
    ck.fail("cram.optimizer.min_lr", "is the floor of schedule cosine; schedule is " + o.schedule);
  ck.at_least<int64_t>("cram.optimizer.schedule_steps", o.schedule_steps, 0);
  if (o.schedule_steps != 0 && o.schedule != "cosine")
    ck.fail("cram.optimizer.schedule_steps", "is the length of schedule cosine; schedule is " + o.schedule);
  if (o.schedule_steps != 0 && o.schedule_steps <= o.warmup_steps)
    ck.fail("cram.optimizer.schedule_steps", std::to_string(o.schedule_steps) + " <= cram.optimizer.warmup_steps " +
                                                 std::to_string(o.warmup_steps) + ": the cosine would have no length");
  if (cram.carry_optimizer && cram.search != "progressive")
    ck.fail("cram.carry_optimizer", "carries AdamW from one probe of a progressive search to the next; cram.search is " +
                                        cram.search + ": use cram.search: progressive, or drop it");
  ck.one_of("cram.growth", cram.growth, {"doubling", "one_token"});
  if (cram.growth != "doubling" && cram.search != "progressive")
    ck.fail("cram.growth", "is how a progressive search grows its text; cram.search is " + cram.search +
                               ": use cram.search: progressive, or drop it");
  const auto& l = cram.loss;
  ck.at_least<int64_t>("cram.loss.first_tokens", l.first_tokens, 0);
  ck.at_least("cram.loss.first_weight", l.first_weight, 0.0);
  if (l.first_tokens == 0 && l.first_weight != 1)
    ck.fail("cram.loss.first_weight", "weighs the first cram.loss.first_tokens targets, and first_tokens is 0");
  ck.at_least("cram.loss.align_alpha", l.align_alpha, 0.0);
  ck.at_least<int64_t>("cram.loss.align_layers", l.align_layers, 0);
  ck.one_of("cram.loss.align_from", l.align_from, {"first", "last"});
  ck.one_of("cram.loss.align_distance", l.align_distance, {"l2", "l1", "cosine"});
  if (l.align_alpha == 0 && (l.align_layers != 0 || l.align_from != "first" || l.align_distance != "l2"))
    ck.fail("cram.loss.align_alpha", "is 0, so the alignment term is off and align_layers/align_from/"
                                     "align_distance change nothing: set align_alpha > 0, or drop them");

  ck.at_least<int64_t>("batching.batch_size", c.batching.batch_size, 1);
  ck.at_least<int64_t>("batching.head_chunk", c.batching.head_chunk, 1);

  const auto& rt = c.runtime;
  if (rt.device != "cpu" && rt.device != "cuda" && rt.device.rfind("cuda:", 0) != 0)
    ck.fail("runtime.device", "'" + rt.device + "' is not one of cpu | cuda | cuda:N");
  ck.one_of("runtime.attention", rt.attention, {"auto", "explicit", "sdpa"});
  ck.at_least<int64_t>("runtime.threads", rt.threads, 0);
  ck.one_of("runtime.log_level", rt.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  ck.positive("runtime.heartbeat_seconds", rt.heartbeat_seconds);
  if (!(rt.worker_timeout_seconds == 0 || rt.worker_timeout_seconds > rt.heartbeat_seconds))
    ck.fail("runtime.worker_timeout_seconds", "must be 0 (never) or more than runtime.heartbeat_seconds (" +
                                                  Checker::num(rt.heartbeat_seconds) + "), got " +
                                                  Checker::num(rt.worker_timeout_seconds));

  if (c.output.path.empty()) ck.fail("output.path", "must name the results file (e.g. results/sweep.h5)");
  if (options.check_files) {
    const fs::path out(c.output.path);
    std::error_code ec;
    if (fs::is_directory(out, ec))
      ck.fail("output.path", "'" + c.output.path + "' is a directory; expected the path of a results file inside one");
    // The nearest existing ancestor must take new files (the run creates the rest).
    fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
    if (fs::exists(dir, ec) && ::access(dir.c_str(), W_OK | X_OK) != 0)
      ck.fail("output.path", "cannot write in directory '" + dir.string() + "' (" + std::strerror(errno) + ")");
  }
  ck.at_least<int64_t>("output.curves_every", c.output.curves_every, 0);
  ck.positive("output.flush_seconds", c.output.flush_seconds);
}

}  // namespace crammer
