// A TaskResult on the byte stream, in the order of the field list (core/result_fields.hpp):
// the one encoding the MPI wire and the journal both use.
#pragma once

#include <cstdint>

#include "crammer/core/byte_stream.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

// The byte format of the field list: a field after `v.since(n)` exists from format n on.
constexpr uint32_t kResultFormat = 8;

// `format` < kResultFormat writes what an older build wrote (fields added later left out).
void write_result(ByteWriter& w, const TaskResult& r, uint32_t format = kResultFormat);
// A short input or a status byte outside the enum fails through the reader, naming the field.
// `format` < kResultFormat reads an older journal's rows: fields added later keep their defaults.
TaskResult read_result(ByteReader& r, uint32_t format = kResultFormat);

}  // namespace crammer
