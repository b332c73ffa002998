// Tasks -> batches -> result rows: groups grid tasks by n_mem and length into batches, runs
// capacity searches (bisect | progressive) in lock-step batches, and turns failures into
// `failed` rows. Not for: the optimisation itself (engine.cpp, ops.cpp).
//
// Capacity search, per task (one model, k, sample; `length` is the largest length it may
// probe): probe the smallest of cram.lengths, then double while cramming converges, up to the
// task's length; after the first failure, bisect between the last success and the first
// failure down to one token. capacity = the largest converged probe (0 if none; the task's
// length if even that converged, i.e. a lower bound). `progressive` starts each probe from the
// best mem of the last success (a prefix of the probe's text) instead of a fresh init; with
// cram.carry_optimizer also from that success's AdamW moments and update count.
#include <algorithm>
#include <cmath>
#include <climits>
#include <map>
#include <optional>

#include "crammer/core/retry.hpp"
#include "crammer/cram/cram.hpp"
#include "crammer/core/result_fields.hpp"
#include "crammer/cram/engine.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

CramSettings make_cram_settings(const ExperimentConfig& config, int32_t rank,
                                const std::string& device) {
  CramSettings s;
  s.cram = config.cram;
  s.batching = config.batching;
  s.seed = config.runtime.seed;
  s.rank = rank;
  s.device = device;
  s.attention = parse_attention_kernel(config.runtime.attention);
  s.save_memory = config.output.save_memory;
  s.curves_every = config.output.curves_every;
  s.attention_mass = config.output.attention_mass;
  return s;
}

namespace {

TaskResult failed_row(const Task& t, int32_t length, const std::string& error,
                      const CramSettings& s) {
  return failed_result(t, length, error, s.rank, s.device);
}

// INIT: the cram.init_mem file (grid tasks start from its tensor named by the task key).
CramItem make_item(const Task& t, int32_t length, const Checkpoint* init = nullptr) {
  if (length < 0 || static_cast<size_t>(length) > t.token_ids.size())
    throw ConfigError("cram task " + t.key + ": length " + std::to_string(length) +
                      " but the task carries " + std::to_string(t.token_ids.size()) + " tokens");
  CramItem it;
  it.key = t.key;
  it.model_index = t.model_index;
  it.sample_id = t.sample_id;
  it.n_mem = t.n_mem;
  it.restart = t.restart;
  it.n_bytes = bytes_of_prefix(t, length);
  it.context = t.context;
  it.tokens.assign(t.token_ids.begin(), t.token_ids.begin() + length);
  it.copy_prompt = t.copy_prompt;
  it.copy_from = t.copy_from;
  if (init) {
    if (!init->contains(t.key))
      throw ConfigError("cram.init_mem: no tensor '" + t.key + "' (the task's key) in the file");
    it.warm_mem = init->get(t.key).to(torch::kFloat32).clone();  // shape checked by cram_batch
  }
  return it;
}

// Runs one batch under the halving retry (core/retry.hpp): an item that fails alone gets its
// error instead of an outcome, and the others still run.
struct Attempt {
  std::optional<CramOutcome> outcome;
  std::string error;
};

std::vector<Attempt> run_guarded(CausalLM& model, const std::vector<CramItem>& items,
                                 const CramSettings& settings) {
  std::vector<Attempt> out(items.size());
  HalvingRetry retry;
  retry.run = [&](size_t begin, size_t end) {
    std::vector<CramItem> part(items.begin() + static_cast<std::ptrdiff_t>(begin),
                               items.begin() + static_cast<std::ptrdiff_t>(end));
    auto res = cram_batch(model, part, settings);
    for (size_t i = 0; i < res.size(); ++i) out[begin + i].outcome = std::move(res[i]);
  };
  retry.fail = [&](size_t i, const std::string& error) { out[i].error = error; };
  retry(0, items.size());
  return out;
}

struct Search {
  size_t task = 0;       // index into the task list
  int32_t min_len = 2;   // shortest text with a target
  int32_t max_len = 0;   // the task's length
  int32_t next = 0;      // length of the next probe
  int32_t lo = 0;        // largest converged length so far (0: none)
  int32_t hi = INT_MAX;  // smallest failed length so far
  bool doubling = true;
  bool one_token = false;  // cram.growth one_token: L + 1 after a success, stop at a failure
  bool done = false;
  torch::Tensor warm;    // best mem of the last success [k, d] (progressive)
  int32_t warm_length = 0;  // the length it converged at (0: no warm start)
  torch::Tensor warm_m, warm_v;  // its AdamW moments (cram.carry_optimizer)
  int64_t warm_updates = 0;
  std::vector<TaskResult> rows;

  // Chooses the next probe after a probe of `length` converged or not.
  void advance(int32_t length, bool converged) {
    if (converged) {
      lo = std::max(lo, length);
    } else {
      hi = std::min(hi, length);
    }
    if (one_token) {
      done = !converged || length >= max_len;
      next = length + 1;
      return;
    }
    if (doubling && converged) {
      if (length >= max_len) {
        done = true;
      } else {
        next = std::min<int64_t>(2LL * length, max_len);
      }
      return;
    }
    doubling = false;
    const int32_t floor = std::max(lo, min_len - 1);  // lengths below min_len cannot be probed
    if (hi - floor <= 1) {
      done = true;
    } else {
      next = floor + (hi - floor) / 2;
    }
  }
};

// The names of a row's metrics that are NaN or inf (DESIGN §2 metrics only).
struct NonFinite {
  bool metric = false;
  std::string names;
  void section(const char* name) { metric = std::string(name) == "metric"; }
  void since(int) {}
  void num(const char* name, const double& v) {
    if (metric && !std::isfinite(v)) names += (names.empty() ? "" : ", ") + std::string(name);
  }
  template <class T>
  void num(const char*, const T&) {}
  void text(const char*, const std::string&, int) {}
  void flag(const char*, const bool&) {}
  void status(const char*, const TaskStatus&) {}
  void matrix(const char*, const std::vector<float>&, const int32_t&) {}
  void curves(const char*, const std::vector<float>&, const std::vector<float>&) {}
  void series(const char*, const std::vector<float>&) {}
};

// A done row must carry numbers: NaN or inf (a diverged optimizer, a model that overflows)
// makes it a failed row that says which metrics, never a done row of nonsense.
void refuse_non_finite(TaskResult& r) {
  if (r.status != TaskStatus::done) return;
  NonFinite v;
  visit_result_fields(v, static_cast<const TaskResult&>(r));
  if (v.names.empty()) return;
  r.status = TaskStatus::failed;
  r.error = "non-finite " + v.names + " (NaN or inf): the optimization diverged or the model overflows";
}

}  // namespace

std::vector<TaskResult> cram_tasks(CausalLM& model, const std::vector<Task>& tasks,
                                   const CramSettings& settings) {
  std::vector<std::vector<TaskResult>> rows(tasks.size());
  model.set_attention_kernel(settings.attention);
  const int64_t batch = std::max<int64_t>(1, settings.batching.batch_size);
  const bool progressive = settings.cram.search == "progressive";
  const bool carry = progressive && settings.cram.carry_optimizer;

  // Grid tasks: batches of equal n_mem, lengths sorted so a batch pads little.
  std::map<int32_t, std::vector<size_t>> grid;
  std::map<int32_t, std::vector<size_t>> search;
  for (size_t i = 0; i < tasks.size(); ++i)
    (tasks[i].capacity_search ? search : grid)[tasks[i].n_mem].push_back(i);

  std::optional<Checkpoint> init;
  if (settings.cram.init_mem) init = Checkpoint::open_file(*settings.cram.init_mem);
  for (auto& [k, idx] : grid) {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return tasks[a].length < tasks[b].length; });
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(batch)) {
      std::vector<size_t> members;
      std::vector<CramItem> items;
      for (size_t j = s; j < std::min(idx.size(), s + static_cast<size_t>(batch)); ++j) {
        const auto& t = tasks[idx[j]];
        try {
          items.push_back(make_item(t, t.length, init ? &*init : nullptr));
          members.push_back(idx[j]);
        } catch (const std::exception& e) {
          rows[idx[j]].push_back(failed_row(t, t.length, e.what(), settings));
        }
      }
      auto res = run_guarded(model, items, settings);
      for (size_t j = 0; j < members.size(); ++j) {
        const auto& t = tasks[members[j]];
        auto row = res[j].outcome ? res[j].outcome->row : failed_row(t, t.length, res[j].error, settings);
        rows[members[j]].push_back(row);
      }
    }
  }

  // Capacity searches: up to `batch` tasks of equal n_mem advance together, one probe each
  // per round.
  for (auto& [k, idx] : search) {
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(batch)) {
      std::vector<Search> group;
      for (size_t j = s; j < std::min(idx.size(), s + static_cast<size_t>(batch)); ++j) {
        const auto& t = tasks[idx[j]];
        Search g;
        g.task = idx[j];
        g.min_len = first_token_scored(settings.cram) ? 1 : 2;
        g.one_token = progressive && settings.cram.growth == "one_token";
        g.max_len = t.length;
        int64_t start = t.length;
        for (auto L : settings.cram.lengths) start = std::min<int64_t>(start, L);
        g.next = static_cast<int32_t>(std::max<int64_t>(start, g.min_len));
        if (g.max_len < g.min_len || static_cast<size_t>(g.max_len) > t.token_ids.size()) {
          g.rows.push_back(failed_row(t, t.length,
              "cram task " + t.key + ": capacity search up to length " +
                  std::to_string(t.length) + " needs >= " + std::to_string(g.min_len) +
                  " and <= " + std::to_string(t.token_ids.size()) + " tokens",
              settings));
          g.done = true;
        }
        group.push_back(std::move(g));
      }
      while (true) {
        std::vector<Search*> live;
        std::vector<CramItem> items;
        for (auto& g : group) {
          if (g.done) continue;
          auto it = make_item(tasks[g.task], g.next);
          if (progressive && g.warm.defined()) it.warm_mem = g.warm;
          if (carry && g.warm_m.defined()) {
            it.warm_m = g.warm_m;
            it.warm_v = g.warm_v;
            it.warm_updates = g.warm_updates;
          }
          items.push_back(std::move(it));
          live.push_back(&g);
        }
        if (live.empty()) break;
        auto res = run_guarded(model, items, settings);
        for (size_t j = 0; j < live.size(); ++j) {
          auto& g = *live[j];
          const auto& t = tasks[g.task];
          // A failed probe says what it grew from too: the search's history stays whole.
          const int32_t grown_from = items[j].warm_mem.defined() ? g.warm_length : 0;
          if (!res[j].outcome) {
            g.rows.push_back(failed_row(t, g.next, res[j].error, settings));
            g.rows.back().grown_from = grown_from;
            g.done = true;
          } else {
            auto& o = *res[j].outcome;
            g.rows.push_back(o.row);
            g.rows.back().grown_from = grown_from;
            if (o.row.converged) {
              g.warm = o.best_mem;
              g.warm_length = g.next;
              g.warm_m = o.stop_m;
              g.warm_v = o.stop_v;
              g.warm_updates = o.stop_updates;
            }
            g.advance(g.next, o.row.converged);
          }
        }
        for (auto& g : group) {
          if (!g.done || !rows[g.task].empty()) continue;
          for (auto& r : g.rows) r.capacity = g.lo;
          rows[g.task] = g.rows;
        }
      }
      for (auto& g : group) {  // searches that failed before their first probe
        if (!rows[g.task].empty()) continue;
        for (auto& r : g.rows) r.capacity = g.lo;
        rows[g.task] = g.rows;
      }
    }
  }

  std::vector<TaskResult> out;
  for (auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  for (auto& r : out) refuse_non_finite(r);
  return out;
}

}  // namespace crammer
