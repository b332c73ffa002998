// `crammer status` (see crammer/store/status.hpp).
#include "crammer/store/status.hpp"

#include <set>

#include <fmt/format.h>

#include "crammer/store/results_reader.hpp"

namespace crammer {

namespace {

void count(StatusCounts& c, TaskStatus s) {
  switch (s) {
    case TaskStatus::done: ++c.done; break;
    case TaskStatus::failed: ++c.failed; break;
    case TaskStatus::skipped: ++c.skipped; break;
    case TaskStatus::superseded: break;  // history, counted apart
  }
}

std::string tasks_text(const StatusCounts& c) {
  if (c.planned < 0) return fmt::format("{}", c.tasks);
  return fmt::format("{} of {}", c.tasks, c.planned);
}

std::string counts_text(const StatusCounts& c, bool with_tasks) {
  std::string t = fmt::format("{:>8} {:>8} {:>8} {:>8}", c.done, c.failed, c.skipped, c.total());
  if (with_tasks) t += fmt::format(" {:>16}", tasks_text(c));
  return t;
}

}  // namespace

StatusSummary status_summary(const std::string& path) {
  StatusSummary s;
  s.path = path;
  ResultsReader reader(path);
  s.active = writer_active(path);
  std::map<int32_t, std::string> names;
  bool planned_known = !reader.models().empty();
  s.all.planned = 0;
  for (const auto& m : reader.models()) {
    names[m.model_index] = m.name;
    s.by_model[m.name].planned = m.planned_tasks;
    planned_known = planned_known && m.planned_tasks >= 0;
    s.all.planned += m.planned_tasks;
  }
  if (!planned_known) s.all.planned = -1;
  std::set<std::string> seen;
  for (const auto& r : reader.rows()) {
    if (r.status == TaskStatus::superseded) {
      ++s.superseded;
      continue;
    }
    auto name = names.find(r.model_index);
    StatusCounts& model = s.by_model[name != names.end() ? name->second : std::to_string(r.model_index)];
    count(s.all, r.status);
    count(model, r.status);
    count(s.by_k_length[{r.n_mem, r.length}], r.status);
    if (seen.insert(r.task_key).second) {
      ++s.all.tasks;
      ++model.tasks;
    }
  }
  s.total_rows = static_cast<int64_t>(reader.rows().size());
  return s;
}

std::string StatusSummary::text() const {
  std::string t = fmt::format("{}: {} rows, {} tasks stored, {}\n", path, total_rows, tasks_text(all),
                              active ? "a run is writing it now" : "no run is writing it");
  t += fmt::format("{:<24} {:>8} {:>8} {:>8} {:>8} {:>16}\n", "model", "done", "failed", "skipped", "rows", "tasks");
  for (const auto& [name, c] : by_model) t += fmt::format("{:<24} {}\n", name, counts_text(c, true));
  t += fmt::format("{:<24} {}\n", "all", counts_text(all, true));
  t += fmt::format("\n{:>6} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "k", "length", "done", "failed",
                   "skipped", "rows");
  for (const auto& [kl, c] : by_k_length)
    t += fmt::format("{:>6} {:>8} {}\n", kl.first, kl.second, counts_text(c, false));
  if (all.failed > 0)
    t += fmt::format("\n{} failed row(s): `crammer run` on the same config runs their tasks again "
                     "(--keep-failed keeps them)\n", all.failed);
  if (superseded > 0)
    t += fmt::format("{} superseded row(s): earlier failed attempts of tasks that ran again (kept as history)\n",
                     superseded);
  return t;
}

}  // namespace crammer
