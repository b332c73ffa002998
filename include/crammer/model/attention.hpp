// Which implementation computes causal attention: the explicit softmax(QK^T/sqrt(hd)) V (the
// only one that soft-caps scores), or LibTorch's fused scaled_dot_product_attention (flash /
// memory-efficient kernels on GPUs, a flash-style kernel on CPUs). Both give the same numbers
// (tests/model/test_attention.cpp: f32, 1e-5 relative); `auto` picks the faster one per device
// as measured (docs/bench/cram.md). Torch-free, so the config layer and the CLI can name the
// choice.
#pragma once

#include <string>

namespace crammer {

enum class AttentionKernel { automatic, explicit_softmax, sdpa };

// "auto" | "explicit" | "sdpa" (config key runtime.attention); ConfigError otherwise.
AttentionKernel parse_attention_kernel(const std::string& name);
std::string to_string(AttentionKernel kernel);

// The kernel that runs for `requested` on a CUDA (true) or CPU (false) device: `automatic`
// becomes the measured choice for that device.
AttentionKernel resolve_attention_kernel(AttentionKernel requested, bool cuda);

}  // namespace crammer
