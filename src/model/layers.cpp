// Shared model parts: norms, activations, rotary, KV-cache append, name table (causal attention:
// attention.cpp).
// Semantics follow Hugging Face transformers (modeling_llama.py / modeling_gpt_neox.py).
#include "layers.hpp"

#include <cmath>

#include "crammer/util/error.hpp"

namespace crammer {
namespace layers {

torch::Tensor param(torch::nn::Module& m, const std::string& name, at::IntArrayRef shape,
                    const torch::TensorOptions& opts) {
  // torch::empty does not touch its pages: loading then fills each weight exactly once.
  return m.register_parameter(name, torch::empty(shape, opts));
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return at::linear(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt);
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         double eps) {
  return at::layer_norm(x, {x.size(-1)}, w, b, eps);
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  // Like LlamaRMSNorm: the mean of squares in f32 even for bf16 activations.
  torch::Tensor xf = x.to(torch::kFloat32);
  torch::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);
  return w * (xf * at::rsqrt(var + eps)).to(x.scalar_type());
}

Activation activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::gelu;
  // gelu_new, gelu_fast and gelu_pytorch_tanh are all the tanh approximation.
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::gelu_tanh;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  throw ModelLoadError("unsupported activation '" + name + "'");
}

torch::Tensor activate(const torch::Tensor& x, Activation act) {
  switch (act) {
    case Activation::gelu: return at::gelu(x);
    case Activation::gelu_tanh: return at::gelu(x, "tanh");
    case Activation::relu: return at::relu(x);
    case Activation::silu: return at::silu(x);
  }
  return x;
}

Rotary make_rotary(int64_t dim, double theta, const std::optional<RopeScaling>& scaling) {
  Rotary r;
  r.dim = dim;
  // inv_freq = 1 / theta^(2i / dim), in f32 as transformers computes it.
  torch::Tensor expo = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / double(dim);
  torch::Tensor inv = 1.0 / at::pow(theta, expo);  // [dim / 2]
  if (scaling && scaling->rope_type == "linear") {
    inv = inv / scaling->factor;  // position interpolation: positions slowed by `factor`
  } else if (scaling && scaling->rope_type == "llama3") {
    // Llama 3.1: long wavelengths slowed by `factor`, short ones kept, smooth ramp between.
    const RopeScaling& s = *scaling;
    double old_len = double(s.original_max_position_embeddings);
    double low_wavelen = old_len / s.low_freq_factor;
    double high_wavelen = old_len / s.high_freq_factor;
    const double pi = 3.14159265358979323846;
    torch::Tensor wavelen = 2 * pi / inv;
    torch::Tensor scaled = at::where(wavelen > low_wavelen, inv / s.factor, inv);
    torch::Tensor smooth = (old_len / wavelen - s.low_freq_factor) /
                           (s.high_freq_factor - s.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    torch::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv = at::where(medium, smoothed, scaled);
  } else if (scaling && scaling->rope_type == "longrope") {
    // Phi-3: 1 / (factor_i * theta^(2i / dim)), a per-frequency factor list for short and long.
    torch::Tensor base = at::pow(theta, expo);
    auto with = [&](const std::vector<double>& f) {
      return 1.0 / (torch::tensor(f, torch::kFloat64).to(torch::kFloat32) * base);
    };
    inv = with(scaling->short_factor);
    r.inv_freq_long = with(scaling->long_factor).contiguous();
    r.original = scaling->original_max_position_embeddings;
    r.attention_factor = scaling->attention_factor;
  }
  r.inv_freq = inv.contiguous();
  return r;
}

std::pair<torch::Tensor, torch::Tensor> rotary_cos_sin(const Rotary& r, int64_t start, int64_t T,
                                                        torch::Dtype dtype, torch::Device device) {
  // Angles in f32 whatever the compute dtype; cast last, as transformers does.
  const bool long_freqs = r.inv_freq_long.defined() && start + T > r.original;
  torch::Tensor inv = (long_freqs ? r.inv_freq_long : r.inv_freq).to(device);
  torch::Tensor pos = torch::arange(start, start + T, inv.options().dtype(torch::kInt64))
                          .to(torch::kFloat32);                  // [T]
  torch::Tensor freqs = pos.unsqueeze(1) * inv.unsqueeze(0);     // [T, dim / 2]
  torch::Tensor emb = at::cat({freqs, freqs}, -1);               // [T, dim]
  if (r.attention_factor != 1.0)
    return {(emb.cos() * r.attention_factor).to(dtype), (emb.sin() * r.attention_factor).to(dtype)};
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin) {
  int64_t dim = cos.size(-1), hd = x.size(-1);
  if (dim == hd) return x * cos + rotate_half(x) * sin;
  // Partial rotary (gpt_neox rotary_pct): the remaining features pass through unchanged.
  torch::Tensor rot = x.narrow(-1, 0, dim), pass = x.narrow(-1, dim, hd - dim);
  return at::cat({rot * cos + rotate_half(rot) * sin, pass}, -1);
}

std::pair<torch::Tensor, torch::Tensor> cache_append(KVCache* cache, size_t layer,
                                                      torch::Tensor k, torch::Tensor v) {
  if (!cache) return {k, v};
  if (cache->k.size() <= layer) {
    cache->k.resize(layer + 1);
    cache->v.resize(layer + 1);
  }
  if (cache->k[layer].defined()) {
    k = at::cat({cache->k[layer], k}, 2);
    v = at::cat({cache->v[layer], v}, 2);
  }
  cache->k[layer] = k;
  cache->v[layer] = v;
  return {k, v};
}

void add_layer(std::vector<HfParam>& out, int64_t i, std::vector<HfParam> entries) {
  for (HfParam& e : entries) {
    if (!e.tensor.defined()) continue;
    auto at = e.name.find("{}");
    if (at != std::string::npos) e.name.replace(at, 2, std::to_string(i));
    out.push_back(std::move(e));
  }
}

}  // namespace layers
}  // namespace crammer
