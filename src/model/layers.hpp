// Small parts shared by the architecture files (gpt2.cpp, gpt_neox.cpp, llama.cpp): norms,
// activations, rotary embeddings, the causal attention core, the KV-cache append, the
// "{}"-per-layer name-table helper.
// Internal to the model layer; not a general transformer toolkit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "crammer/model/attention.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer {
namespace layers {

// An uninitialised parameter registered on m (filled by make_random_model or load_model).
torch::Tensor param(torch::nn::Module& m, const std::string& name, at::IntArrayRef shape,
                    const torch::TensorOptions& opts);

// x @ w^T + b for a [out, in] weight (b may be undefined).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {});
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         double eps);
// Llama RMSNorm: normalised in f32, cast back to the input dtype, then scaled by w.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps);

enum class Activation { gelu, gelu_tanh, relu, silu };
Activation activation_from_name(const std::string& name);  // hidden_act / activation_function
torch::Tensor activate(const torch::Tensor& x, Activation act);

// Rotary position embedding over the first `dim` features of each head (rotate_half layout).
struct Rotary {
  int64_t dim = 0;
  torch::Tensor inv_freq;  // [dim / 2] f32, rope scaling already applied
  // longrope: inv_freq holds the short factors' frequencies; a forward whose last position is
  // past `original` uses these instead. cos and sin are scaled by attention_factor.
  torch::Tensor inv_freq_long;
  int64_t original = 0;
  double attention_factor = 1.0;
};
Rotary make_rotary(int64_t dim, double theta, const std::optional<RopeScaling>& scaling);
// cos, sin for positions start..start+T-1, each [T, dim], in dtype on device (longrope: the
// long frequencies when start + T > r.original, as transformers picks per forward).
std::pair<torch::Tensor, torch::Tensor> rotary_cos_sin(const Rotary& r, int64_t start, int64_t T,
                                                        torch::Dtype dtype, torch::Device device);
// x [B, h, T, hd] -> same, first r.dim features rotated.
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin);

// Causal attention. q [B, h, T, hd], k/v [B, kv_h, past + T, hd] (h a multiple of kv_h: grouped
// query heads share a kv head, as transformers' repeat_kv) -> [B, h, T, hd]; scale 1/sqrt(hd).
// Query i sits at absolute position past + i and sees keys 0..past + i; with a sliding window
// W > 0 only keys past + i - W + 1..past + i (W keys, itself included: transformers' mask).
// `kernel` picks the implementation (attention.cpp); every kernel gives the same result.
// scale > 0 replaces 1/sqrt(hd) (gemma's query_pre_attn_scalar^-1/2); softcap > 0 caps the
// scaled scores at softcap * tanh(s / softcap) before the mask (gemma2; explicit kernel only).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t past, AttentionKernel kernel, int64_t window = 0, double scale = 0,
                        double softcap = 0);

// Appends this chunk's k/v [B, kv_h, T, hd] to layer i of cache (when given) and returns the
// full keys/values to attend to.
std::pair<torch::Tensor, torch::Tensor> cache_append(KVCache* cache, size_t layer,
                                                      torch::Tensor k, torch::Tensor v);

// Adds table entries for layer i: "{}" in each name becomes i; undefined tensors (absent
// optional biases) are skipped.
void add_layer(std::vector<HfParam>& out, int64_t i, std::vector<HfParam> entries);

}  // namespace layers
}  // namespace crammer
