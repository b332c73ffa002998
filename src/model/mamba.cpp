// Mamba (transformers' MambaConfig / MambaForCausalLM, state-spaces/mamba-*-hf): attention-free.
// Per block x + mixer(RMSNorm(x)), the residual stream in f32 (residual_in_fp32); the mixer
// projects to 2E = 2 * expand * d (x | gate), runs x through a causal depthwise conv (kernel
// conv_kernel) and silu, derives dt (rank time_step_rank, then dt_proj and softplus), B and C
// (state_size each) from it, runs the selective scan (selective_scan.hpp) with A = -exp(A_log),
// adds D * x, gates with silu(gate) and projects back. Final RMSNorm, tied head. The cached
// forward carries the conv inputs and the scan state instead of keys and values.
#include <cmath>

#include "crammer/model/selective_scan.hpp"
#include "family.hpp"
#include "layers.hpp"
#include "llama_fields.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

using layers::param;
using Init = HfParam::Init;

// Mamba's own config.json fields.
struct MambaFields : FamilyFields {
  int64_t state_size = 16;  // N
  int64_t conv_kernel = 4;  // K
  int64_t expand = 2;       // E = expand * hidden_size
  int64_t time_step_rank = 0;
  bool use_bias = false;       // in_proj and out_proj
  bool use_conv_bias = true;
  bool residual_in_fp32 = true;
};

const MambaFields& mamba_fields(const ModelSpec& s) {
  auto m = std::dynamic_pointer_cast<const MambaFields>(s.family_fields);
  if (!m) throw ModelLoadError("mamba: the spec carries no Mamba fields (state_size, conv_kernel)");
  return *m;
}

struct MambaBlock : torch::nn::Module {
  torch::Tensor norm, in_w, in_b, conv_w, conv_b, x_w, dt_w, dt_b, A_log, D, out_w, out_b;

  MambaBlock(const ModelSpec& s, const MambaFields& m, const torch::TensorOptions& o) {
    const int64_t d = s.hidden_size, E = s.intermediate_size, N = m.state_size, R = m.time_step_rank;
    norm = param(*this, "norm", {d}, o);
    in_w = param(*this, "in_w", {2 * E, d}, o);
    if (m.use_bias) in_b = param(*this, "in_b", {2 * E}, o);
    conv_w = param(*this, "conv_w", {E, 1, m.conv_kernel}, o);
    if (m.use_conv_bias) conv_b = param(*this, "conv_b", {E}, o);
    x_w = param(*this, "x_w", {R + 2 * N, E}, o);
    dt_w = param(*this, "dt_w", {E, R}, o);
    dt_b = param(*this, "dt_b", {E}, o);
    A_log = param(*this, "A_log", {E, N}, o);
    D = param(*this, "D", {E}, o);
    out_w = param(*this, "out_w", {d, E}, o);
    if (m.use_bias) out_b = param(*this, "out_b", {d}, o);
  }
};

class Mamba : public TokenLM {
 public:
  Mamba(const ModelSpec& s, const torch::TensorOptions& o) : TokenLM(s), m_(mamba_fields(spec_)) {
    tokens_ = param(*this, "embeddings", {s.vocab_size, s.hidden_size}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(register_module("layers_" + std::to_string(i), std::make_shared<MambaBlock>(s, m_, o)));
    norm_f_ = param(*this, "norm_f", {s.hidden_size}, o);
    if (!s.tie_word_embeddings) head_ = param(*this, "output", {s.vocab_size, s.hidden_size}, o);
  }


  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"backbone.embeddings.weight", tokens_}};
    // MambaPreTrainedModel's init, so random models remember: A = -(1..N) per channel, dt in
    // [1e-3, 0.1] log-uniform through softplus's inverse, dt_proj, conv and out_proj uniform
    // (+-rank^-1/2, kaiming's +-fan_in^-1/2).
    auto uniform = [](double bound) {
      return [bound](torch::Tensor& w, at::Generator& g) { w.uniform_(-bound, bound, g); };
    };
    auto a_log = [](torch::Tensor& w, at::Generator&) {
      w.copy_(at::log(torch::arange(1, w.size(1) + 1, torch::kFloat32)).unsqueeze(0).expand_as(w));
    };
    auto dt_bias = [](torch::Tensor& w, at::Generator& g) {
      torch::Tensor u = torch::empty(w.sizes(), torch::kFloat32).uniform_(0, 1, g);
      torch::Tensor dt = at::exp(u * (std::log(0.1) - std::log(0.001)) + std::log(0.001)).clamp_min(1e-4);
      w.copy_(dt + at::log(-at::expm1(-dt)));
    };
    const double rank = double(m_.time_step_rank), E = double(spec_.intermediate_size);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      MambaBlock& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"backbone.layers.{}.norm.weight", b.norm, Init::ones},
          {"backbone.layers.{}.mixer.in_proj.weight", b.in_w},
          {"backbone.layers.{}.mixer.in_proj.bias", b.in_b, Init::zeros},
          {"backbone.layers.{}.mixer.conv1d.weight", b.conv_w, Init::custom, 1.0, uniform(1 / std::sqrt(double(m_.conv_kernel)))},
          {"backbone.layers.{}.mixer.conv1d.bias", b.conv_b, Init::zeros},
          {"backbone.layers.{}.mixer.x_proj.weight", b.x_w},
          {"backbone.layers.{}.mixer.dt_proj.weight", b.dt_w, Init::custom, 1.0, uniform(1 / std::sqrt(rank))},
          {"backbone.layers.{}.mixer.dt_proj.bias", b.dt_b, Init::custom, 1.0, dt_bias},
          {"backbone.layers.{}.mixer.A_log", b.A_log, Init::custom, 1.0, a_log},
          {"backbone.layers.{}.mixer.D", b.D, Init::ones},
          {"backbone.layers.{}.mixer.out_proj.weight", b.out_w, Init::custom, 1.0, uniform(1 / std::sqrt(E))},
          {"backbone.layers.{}.mixer.out_proj.bias", b.out_b, Init::zeros},
      });
    }
    t.push_back({"backbone.norm_f.weight", norm_f_, Init::ones});
    if (head_.defined()) t.push_back({"lm_head.weight", head_});
    return t;
  }

 private:
  // x [B, T, d] after the positions the cache holds -> final hidden [B, T, d] (compute dtype).
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const auto dtype = embeds.scalar_type();
    if (cache && cache->ssm.empty()) {
      cache->conv.resize(blocks_.size());
      cache->ssm.resize(blocks_.size());
    }
    torch::Tensor x = embeds;  // [B, T, d]; f32 after the first block when residual_in_fp32
    for (size_t i = 0; i < blocks_.size(); ++i) {
      MambaBlock& b = *blocks_[i];
      record(x);
      torch::Tensor y = layers::rms_norm(x.to(dtype), b.norm, spec_.norm_eps);
      torch::Tensor residual = m_.residual_in_fp32 ? x.to(torch::kFloat32) : x;
      x = residual + mix(b, y, cache, i);
    }
    if (cache) cache->state_tokens += embeds.size(1);
    return record(layers::rms_norm(x, norm_f_, spec_.norm_eps).to(dtype));  // the head reads it in the weights' dtype
  }

  // The mixer of one block: y [B, T, d] -> [B, T, d].
  torch::Tensor mix(MambaBlock& b, const torch::Tensor& y, KVCache* cache, size_t layer) {
    const int64_t T = y.size(1), E = spec_.intermediate_size, N = m_.state_size, R = m_.time_step_rank;
    const int64_t K = m_.conv_kernel;
    torch::Tensor xz = layers::linear(y, b.in_w, b.in_b);  // [B, T, 2E]
    torch::Tensor xs = xz.narrow(-1, 0, E).transpose(1, 2), gate = xz.narrow(-1, E, E);  // [B, E, T], [B, T, E]
    // Causal depthwise conv: the K - 1 inputs before this chunk (zeros at the start) ahead of it.
    torch::Tensor before = cache && cache->conv[layer].defined()
                               ? cache->conv[layer]
                               : torch::zeros({xs.size(0), E, K - 1}, xs.options());
    torch::Tensor padded = at::cat({before, xs}, -1);  // [B, E, K - 1 + T]
    if (cache) cache->conv[layer] = padded.narrow(-1, T, K - 1);
    torch::Tensor conv = at::conv1d(padded, b.conv_w, b.conv_b, /*stride=*/at::IntArrayRef{1},
                                    /*padding=*/at::IntArrayRef{0}, /*dilation=*/at::IntArrayRef{1}, E);  // [B, E, T]
    torch::Tensor u = at::silu(conv).transpose(1, 2);                                   // [B, T, E]
    torch::Tensor dbc = layers::linear(u, b.x_w);                                        // [B, T, R + 2N]
    torch::Tensor dt = layers::linear(dbc.narrow(-1, 0, R), b.dt_w);                     // [B, T, E]
    // As transformers: the bias cast to the compute dtype, softplus there, the scan in f32.
    dt = at::softplus(dt + b.dt_b.to(dt.scalar_type())).to(torch::kFloat32);
    torch::Tensor A = -at::exp(b.A_log.to(torch::kFloat32));                             // [E, N]
    torch::Tensor h0 = cache ? cache->ssm[layer] : torch::Tensor();
    ScanResult scan = selective_scan_chunked(u, dt, A, dbc.narrow(-1, R, N), dbc.narrow(-1, R + N, N), h0);
    if (cache) cache->ssm[layer] = scan.state;
    // transformers: (y + u * D.float()) * silu(gate), in f32 when D promotes it, then out_proj.
    torch::Tensor out = (scan.y + u * b.D.to(torch::kFloat32)) * at::silu(gate);
    return layers::linear(out.to(y.scalar_type()), b.out_w, b.out_b);
  }

  const MambaFields& m_;
  torch::Tensor norm_f_;
  std::vector<std::shared_ptr<MambaBlock>> blocks_;
};

std::shared_ptr<CausalLM> make_mamba(const ModelSpec& spec, const c10::TensorOptions& options) {
  return std::make_shared<Mamba>(spec, options);
}

int64_t positive_field(const ConfigFields& f, const std::string& k, int64_t dflt) {
  const int64_t v = f.integer(k, dflt);
  if (v <= 0) f.fail(k, "must be > 0, got " + std::to_string(v));
  return v;
}

void read_config(const ConfigFields& f, ModelSpec& s) {
  auto m = std::make_shared<MambaFields>();
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  if (s.num_layers <= 0 || s.num_layers > kMaxLayers)
    f.fail("num_hidden_layers", "must be in 1.." + std::to_string(kMaxLayers) + ", got " + std::to_string(s.num_layers));
  m->state_size = positive_field(f, "state_size", 16);
  m->conv_kernel = positive_field(f, "conv_kernel", 4);
  m->expand = positive_field(f, "expand", 2);
  s.intermediate_size = m->expand * s.hidden_size;  // MambaConfig derives it, whatever the file says
  if (f.has("time_step_rank") && f.raw("time_step_rank").is_string()) {
    if (f.string("time_step_rank", "") != "auto") f.fail("time_step_rank", "expected an integer or \"auto\"");
    m->time_step_rank = (s.hidden_size + 15) / 16;
  } else {
    m->time_step_rank = positive_field(f, "time_step_rank", (s.hidden_size + 15) / 16);
  }
  m->use_bias = f.boolean("use_bias", false);
  m->use_conv_bias = f.boolean("use_conv_bias", true);
  m->residual_in_fp32 = f.boolean("residual_in_fp32", true);
  s.hidden_act = f.string("hidden_act", "silu");
  if (s.hidden_act != "silu")
    f.fail("hidden_act", "'" + s.hidden_act + "' is not supported for mamba (its conv and gate use silu)");
  s.norm_eps = f.number("layer_norm_epsilon", 1e-5);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  s.family_fields = m;
}

void write_config(const ModelSpec& s, json& j) {
  const MambaFields& m = mamba_fields(s);
  j["hidden_size"] = s.hidden_size;
  j["num_hidden_layers"] = s.num_layers;
  j["state_size"] = m.state_size;
  j["conv_kernel"] = m.conv_kernel;
  j["expand"] = m.expand;
  j["intermediate_size"] = s.intermediate_size;
  j["time_step_rank"] = m.time_step_rank;
  j["use_bias"] = m.use_bias;
  j["use_conv_bias"] = m.use_conv_bias;
  j["residual_in_fp32"] = m.residual_in_fp32;
  j["hidden_act"] = "silu";
  j["layer_norm_epsilon"] = s.norm_eps;
}

void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  auto m = std::make_shared<MambaFields>();
  m->time_step_rank = (o.d_model + 15) / 16;
  s.intermediate_size = m->expand * o.d_model;
  if (o.intermediate_size > 0 && o.intermediate_size != s.intermediate_size)
    fail("--intermediate-size: mamba's is expand (2) * --d-model = " + std::to_string(s.intermediate_size));
  s.hidden_act = "silu";
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(true);
  s.num_heads = s.num_kv_heads = s.head_dim = 0;  // attention-free
  s.max_position_embeddings = 0;
  s.rotary_pct = 0;
  s.family_fields = m;
}

}  // namespace

const Family& mamba_family() {
  static const Family family = [] {
    Family f;
    f.model_type = "mamba";
    f.hf_class = "MambaForCausalLM";
    f.ffn_field = "expand";
    f.rotary = false;
    f.attention = false;
    f.read = read_config;
    f.write = write_config;
    f.make_defaults = make_defaults;
    f.base_prefix = "backbone.";
    f.head = "lm_head.weight";
    f.build = make_mamba;
    return f;
  }();
  return family;
}

}  // namespace crammer
