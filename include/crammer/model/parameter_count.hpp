// A checkpoint's parameter count without LibTorch in the caller's headers (the planner records
// it in /models). Defined beside load_model, whose name matching it shares.
#pragma once

#include <cstdint>
#include <string>

namespace crammer {

// The number of parameters of the checkpoint in DIR, from the safetensors headers alone (no
// weight is read): every tensor but buffers and a tied head saved anyway, so it equals
// transformers' num_parameters() for a checkpoint load_model accepts. ModelLoadError when DIR
// holds no readable checkpoint.
int64_t count_parameters(const std::string& dir);

// Whether DIR holds a safetensors checkpoint (model.safetensors or its sharded index).
bool has_checkpoint(const std::string& dir);

}  // namespace crammer
