// A TaskResult on the byte stream, in the order of the field list (core/result_fields.hpp):
// the one encoding the MPI wire and the journal both use.
#pragma once

#include "crammer/core/byte_stream.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

void write_result(ByteWriter& w, const TaskResult& r);
// A short input or a status byte outside the enum fails through the reader, naming the field.
TaskResult read_result(ByteReader& r);

}  // namespace crammer
