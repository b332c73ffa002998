// THE field list of a TaskResult. Every codec and column list is driven by it: the MPI wire
// (sweep/wire.cpp), the journal (store/journal.cpp), the HDF5 /results row (store/row_layout.cpp),
// `crammer export` (store/export.cpp) and the column list analysis reads from the results file.
// A new field is added here once. Each codec supplies a visitor with these primitives:
//   v.text(name, std::string&, width)     fixed width in the HDF5 row (see result.hpp)
//   v.num(name, int32_t / int64_t / double &)
//   v.flag(name, bool&)                   v.status(name, TaskStatus&)
//   v.matrix(name, std::vector<float>&, int32_t& cols)   [rows, cols] row-major (output.save_memory)
//   v.curves(name, std::vector<float>& loss, std::vector<float>& acc)   (output.curves_every)
//   v.series(name, std::vector<float>&)   a vector of any length (in HDF5: /series/<name>)
//   v.section(name)   the fields that follow are: "key" | "metric" | "provenance" | "array"
//   v.since(n)        the fields that follow, up to the next section or since, were added in
//                     byte format n (journal version n): a journal older than n lacks them, and
//                     its rows read them as TaskResult's defaults
// Byte codecs encode a matrix as its floats then cols, curves as loss then acc, a series as its
// floats. Changing the
// order or a type changes both byte formats: bump kWireVersion and the journal version.
#pragma once

#include <type_traits>

#include "crammer/core/result.hpp"

namespace crammer {

// R is TaskResult (decoding) or const TaskResult (encoding); the visitor sees mutable or const
// references accordingly.
template <class Visitor, class R>
void visit_result_fields(Visitor& v, R& x) {
  static_assert(std::is_same<std::remove_const_t<R>, TaskResult>::value, "visits a TaskResult");
  v.section("key");
  v.text("task_key", x.task_key, kTaskKeyWidth);
  v.num("model_index", x.model_index);
  v.num("sample_id", x.sample_id);
  v.num("n_mem", x.n_mem);
  v.num("length", x.length);
  v.status("status", x.status);
  v.since(5);
  v.num("restart", x.restart);
  v.section("metric");  // DESIGN §2
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
  v.since(5);
  v.num("n_bytes", x.n_bytes);
  v.num("gain_bound_nats", x.gain_bound_nats);
  v.num("steps_to_acc95", x.steps_to_acc95);
  v.num("steps_to_acc99", x.steps_to_acc99);
  v.num("steps_to_acc100", x.steps_to_acc100);
  v.num("decode_acc", x.decode_acc);
  v.since(6);
  v.num("copy_loss", x.copy_loss);
  v.num("copy_acc", x.copy_acc);
  v.since(7);
  v.num("grown_from", x.grown_from);
  v.section("provenance");
  v.num("wall_seconds", x.wall_seconds);
  v.num("rank", x.rank);
  v.text("device", x.device, kDeviceWidth);
  v.text("error", x.error, kErrorWidth);
  v.section("array");
  v.matrix("memory", x.memory, x.d_model);
  v.curves("curve", x.curve_loss, x.curve_acc);
  v.since(8);
  v.series("mem_attention", x.mem_attention);
}

namespace detail {
template <class F>
struct SeriesVisitor {
  F& f;
  void section(const char*) {}
  void since(int) {}
  template <class... T>
  void text(T&&...) {}
  template <class... T>
  void num(T&&...) {}
  template <class... T>
  void flag(T&&...) {}
  template <class... T>
  void status(T&&...) {}
  template <class... T>
  void matrix(T&&...) {}
  template <class... T>
  void curves(T&&...) {}
  template <class V>
  void series(const char* name, V& values) { f(name, values); }
};
}  // namespace detail

// f(name, values) for each series of the field list, in its order (values: const or not, as R).
template <class R, class F>
void visit_result_series(R& x, F&& f) {
  detail::SeriesVisitor<F> v{f};
  visit_result_fields(v, x);
}

}  // namespace crammer
