// What can be known of a checkpoint directory without loading its weights, with no LibTorch in
// the caller's headers (the planner uses it). Defined beside load_model, whose name and shape
// matching it shares.
#pragma once

#include <cstdint>
#include <string>

namespace crammer {

// The number of parameters of the checkpoint in DIR, from the safetensors headers alone (no
// weight is read): every tensor but buffers and a tied head saved anyway, so it equals
// transformers' num_parameters() for a checkpoint load_model accepts. ModelLoadError when DIR
// holds no readable checkpoint.
int64_t count_parameters(const std::string& dir);

// Everything load_model checks but the weights' values: config.json, the safetensors headers and
// bounds, every tensor the architecture needs with its shape and a float dtype, nothing unused.
// ModelLoadError (or ConfigError for config.json) naming the file and the tensor.
void check_checkpoint(const std::string& dir);

// Whether DIR holds a safetensors checkpoint (model.safetensors or its sharded index).
bool has_checkpoint(const std::string& dir);

}  // namespace crammer
