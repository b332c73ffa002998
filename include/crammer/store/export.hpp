// `crammer export`: the tables of a results file as CSV.
#pragma once

#include <ostream>
#include <string>

namespace crammer {

/// CSV of one table on `out`:
///   results  one column per stored column of /results (core/result_columns.hpp: every field of
///            the field list) in file order, with the model's name after model_index; status
///            as its name; memory_k / memory_d / curve_length / mem_attention_length give the arrays' shapes
///   models, samples   the header tables
///   curves   task_key, length, step, loss, accuracy: the points output.curves_every recorded
///   memory   task_key, length, model_index, mem_row, values (d space-separated floats): the
///            best [mem] vectors output.save_memory stored, one CSV row per vector
///   mem_attention   task_key, length, model_index, layer, mass: the attention mass on [mem]
///            per attention layer that output.attention_mass stored, one CSV row per layer
/// An unknown table is a ConfigError listing the known ones. Returns "" or, where curves,
/// memory or mem_attention came out empty, a note saying why (the run did not record them, or
/// no row is done).
std::string write_csv(const std::string& path, std::ostream& out, const std::string& table = "results");

}  // namespace crammer
