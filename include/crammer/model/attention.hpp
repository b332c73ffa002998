// Which implementation computes causal attention: the explicit softmax(QK^T/sqrt(hd)) V of
// LibTorch 1.x, or LibTorch 2.x's fused scaled_dot_product_attention (flash / memory-efficient
// kernels on GPUs, a flash-style kernel on CPUs). Both give the same numbers (tests/model/
// test_attention.cpp: f32, 1e-5 relative); `auto` picks the faster one per device as measured
// (docs/bench/cram.md). Torch-free, so the config layer and the CLI can name the choice.
#pragma once

#include <string>

namespace crammer {

enum class AttentionKernel { automatic, explicit_softmax, sdpa };

// "auto" | "explicit" | "sdpa" (config key runtime.attention); ConfigError otherwise.
AttentionKernel parse_attention_kernel(const std::string& name);
std::string to_string(AttentionKernel kernel);

// True when crammer was built against LibTorch >= 2.0 (scaled_dot_product_attention exists).
bool sdpa_available();

// The kernel that runs for `requested` on a CUDA (true) or CPU (false) device: `automatic`
// becomes the measured choice for that device; sdpa without LibTorch 2.x is a ConfigError.
AttentionKernel resolve_attention_kernel(AttentionKernel requested, bool cuda);

}  // namespace crammer
