// The field list of a TaskResult, in the one order shared by its byte encodings (the MPI wire
// format in dist/wire.cpp and the journal records in store/journal.cpp), so a new field is
// added in one place. Each codec supplies a visitor with its own primitives:
//   v.text(name, std::string&)          v.num(name, int32_t / int64_t / double &)
//   v.flag(name, bool&)                 v.status(name, TaskStatus&)
//   v.floats(name, std::vector<float>&)
// Changing the order or a type changes both formats: bump kWireVersion and the journal version.
#pragma once

#include <type_traits>

#include "crammer/plan/task.hpp"

namespace crammer {

// R is TaskResult (decoding) or const TaskResult (encoding); the visitor sees mutable or const
// references accordingly.
template <class Visitor, class R>
void visit_result_fields(Visitor& v, R& x) {
  static_assert(std::is_same<std::remove_const_t<R>, TaskResult>::value, "visits a TaskResult");
  v.text("task_key", x.task_key);
  v.num("model_index", x.model_index);
  v.num("sample_id", x.sample_id);
  v.num("n_mem", x.n_mem);
  v.num("length", x.length);
  v.status("status", x.status);
  v.num("n_tokens", x.n_tokens);
  v.num("n_targets", x.n_targets);
  v.num("baseline_loss", x.baseline_loss);
  v.num("baseline_acc", x.baseline_acc);
  v.num("best_acc", x.best_acc);
  v.num("best_loss", x.best_loss);
  v.num("steps", x.steps);
  v.num("steps_to_best", x.steps_to_best);
  v.flag("converged", x.converged);
  v.num("info_gain_nats", x.info_gain_nats);
  v.num("info_gain_bits", x.info_gain_bits);
  v.num("token_gain", x.token_gain);
  v.flag("decode_exact", x.decode_exact);
  v.num("decode_prefix", x.decode_prefix);
  v.num("capacity", x.capacity);
  v.num("wall_seconds", x.wall_seconds);
  v.num("rank", x.rank);
  v.text("device", x.device);
  v.text("error", x.error);
  v.floats("memory", x.memory);
  v.num("d_model", x.d_model);
  v.floats("curve_loss", x.curve_loss);
  v.floats("curve_acc", x.curve_acc);
}

// A stored status byte outside the enum is corrupt input; the decoders say so with `where`.
inline bool valid_status_byte(int8_t s) {
  return s >= 0 && s <= static_cast<int8_t>(TaskStatus::skipped);
}

}  // namespace crammer
