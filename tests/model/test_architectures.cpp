// Parity of each architecture (gpt2, gpt_neox, opt, the Llama-style decoder's families, gemma,
// mamba) against a deliberately naive reference written here in double precision: per-head and
// per-position loops, rotary from explicit cos/sin per position, layer norms from their
// formulas, weights read by their Hugging Face names from export_hf_weights. Each model comes
// from a config.json; the reference takes the family's switches from that config itself (and
// the family's fixed structure from its model type), not from crammer's reading of it. Also:
// KV-cached forward == full forward. Not: file I/O (test_checkpoint.cpp) and config.json
// parsing (test_hf_config.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "crammer/model/causal_lm.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using torch::Tensor;
using Weights = std::map<std::string, Tensor>;  // HF name -> f64 copy
using nlohmann::json;

// A test model: its config.json and the spec crammer reads from it.
struct Arch {
  json cfg;
  ModelSpec spec;
};

Arch arch(const json& cfg) {
  // One directory per process: ctest -j runs the tests of this binary side by side.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("crammer_test_architectures_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << cfg.dump();
  return {cfg, read_model_spec(dir.string())};
}

const double kPi = 3.14159265358979323846;

// Every weight ~ N(0, 0.1), norm weights ~ 1 + N(0, 0.1): biases and norms must matter too, and
// attention must be peaked enough that masks and rotary change the result.
void perturb(CausalLM& m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard g;
  for (HfParam& p : m.hf_params()) {
    bool norm = p.init == HfParam::Init::ones;
    p.tensor.copy_(torch::randn(p.tensor.sizes()) * 0.1 + (norm ? 1.0 : 0.0));
  }
}

Weights weights_f64(CausalLM& m) {
  Weights w;
  for (auto& [n, t] : export_hf_weights(m)) w[n] = t.to(torch::kFloat64);
  return w;
}

const Tensor& get(const Weights& w, const std::string& n) {
  auto it = w.find(n);
  if (it == w.end()) throw std::runtime_error("reference: no weight " + n);
  return it->second;
}
std::string L(const std::string& pattern, int64_t i) {  // "{}" -> layer index
  std::string s = pattern;
  s.replace(s.find("{}"), 2, std::to_string(i));
  return s;
}

Tensor ref_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  Tensor mu = x.mean(-1, true);
  Tensor var = (x - mu).pow(2).mean(-1, true);
  return (x - mu) / (var + eps).sqrt() * w + b;
}
Tensor ref_rms_norm(const Tensor& x, const Tensor& w, double eps) {
  return x / (x.pow(2).mean(-1, true) + eps).sqrt() * w;
}
Tensor ref_act(const Tensor& x, const std::string& name) {
  if (name == "gelu_new") return 0.5 * x * (1 + (std::sqrt(2 / kPi) * (x + 0.044715 * x.pow(3))).tanh());
  if (name == "gelu") return 0.5 * x * (1 + (x / std::sqrt(2.0)).erf());
  if (name == "silu") return x / (1 + (-x).exp());
  if (name == "relu") return x.clamp_min(0);
  throw std::runtime_error("reference: activation " + name);
}

// Rotary frequencies, scalar by scalar (llama3 scaling written with explicit branches).
std::vector<double> ref_inv_freq(int64_t rot, double theta, const std::optional<RopeScaling>& sc) {
  std::vector<double> f;
  for (int64_t i = 0; i < rot / 2; ++i) {
    double inv = 1.0 / std::pow(theta, double(2 * i) / double(rot));
    if (sc) {
      double old_len = double(sc->original_max_position_embeddings);
      double wavelen = 2 * kPi / inv;
      if (wavelen < old_len / sc->high_freq_factor) {
        // high frequency: unchanged
      } else if (wavelen > old_len / sc->low_freq_factor) {
        inv = inv / sc->factor;
      } else {
        double smooth = (old_len / wavelen - sc->low_freq_factor) /
                        (sc->high_freq_factor - sc->low_freq_factor);
        inv = (1 - smooth) * inv / sc->factor + smooth * inv;
      }
    }
    f.push_back(inv);
  }
  return f;
}

// x [T, hd] of one head: rotate pairs (i, i + rot/2) of the first rot features by pos * freq.
Tensor ref_rotary(const Tensor& x, const std::vector<double>& inv_freq) {
  Tensor out = x.clone();
  auto a = x.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  const int64_t half = int64_t(inv_freq.size());
  for (int64_t t = 0; t < x.size(0); ++t)
    for (int64_t i = 0; i < half; ++i) {
      double c = std::cos(double(t) * inv_freq[i]), s = std::sin(double(t) * inv_freq[i]);
      double x1 = a[t][i], x2 = a[t][i + half];
      o[t][i] = x1 * c - x2 * s;
      o[t][i + half] = x2 * c + x1 * s;
    }
  return out;
}

// One head: q, k, v [T, hd]; query t attends to keys 0..t, or with a sliding window W > 0 to
// the W keys t-W+1..t.
Tensor ref_head_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t window,
                          double scale = 0, double softcap = 0) {
  const int64_t T = q.size(0);
  Tensor out = torch::zeros_like(q);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t first = window > 0 ? std::max<int64_t>(0, t - window + 1) : 0, n = t + 1 - first;
    Tensor scores = k.narrow(0, first, n).matmul(q[t]) * (scale > 0 ? scale : 1 / std::sqrt(double(q.size(1))));  // [n]
    if (softcap > 0) scores = softcap * (scores / softcap).tanh();
    Tensor p = (scores - scores.max()).exp();
    p = p / p.sum();
    out[t] = p.matmul(v.narrow(0, first, n));
  }
  return out;
}

// Multi-head attention of one sequence. q [T, h*hd], k/v [T, kvh*hd]; rot features rotated.
// Optional per-head RMSNorm of q and k before rotary (qwen3), a sliding window (0: none).
struct HeadOptions {
  Tensor q_norm, k_norm;
  double eps = 0;
  int64_t window = 0;
  double scale = 0;    // 0: 1/sqrt(hd)
  double softcap = 0;  // gemma2: scores -> c * tanh(scores / c) before the softmax
};
Tensor ref_rms_norm(const Tensor& x, const Tensor& w, double eps);
Tensor ref_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t h, int64_t kvh,
                     int64_t hd, const std::vector<double>& inv_freq, const HeadOptions& o = {}) {
  std::vector<Tensor> heads;
  for (int64_t j = 0; j < h; ++j) {
    int64_t g = j / (h / kvh);  // the kv head this query head shares
    Tensor qh = q.narrow(1, j * hd, hd), kh = k.narrow(1, g * hd, hd), vh = v.narrow(1, g * hd, hd);
    if (o.q_norm.defined()) {
      qh = ref_rms_norm(qh, o.q_norm, o.eps);
      kh = ref_rms_norm(kh, o.k_norm, o.eps);
    }
    if (!inv_freq.empty()) {
      qh = ref_rotary(qh.contiguous(), inv_freq);
      kh = ref_rotary(kh.contiguous(), inv_freq);
    }
    heads.push_back(ref_head_attention(qh, kh, vh, o.window, o.scale, o.softcap));
  }
  return torch::cat(heads, 1);  // [T, h*hd]
}

// Reference logits [B, T, V] for ids [B, T].
Tensor ref_logits(const Arch& a, const Weights& w, const Tensor& ids) {
  const ModelSpec& s = a.spec;
  const json& c = a.cfg;
  std::vector<Tensor> out;
  const int64_t T = ids.size(1), d = s.hidden_size, h = s.num_heads, hd = s.head_dim;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    Tensor id = ids[b];
    Tensor x, head;
    if (s.model_type == "gpt2") {
      x = get(w, "transformer.wte.weight").index_select(0, id) +
          get(w, "transformer.wpe.weight").narrow(0, 0, T);
      for (int64_t i = 0; i < s.num_layers; ++i) {
        auto W = [&](const std::string& n) { return get(w, L("transformer.h.{}." + n, i)); };
        Tensor y = ref_layer_norm(x, W("ln_1.weight"), W("ln_1.bias"), s.norm_eps);
        Tensor qkv = y.matmul(W("attn.c_attn.weight")) + W("attn.c_attn.bias");  // Conv1D [in, out]
        Tensor a = ref_attention(qkv.narrow(1, 0, d), qkv.narrow(1, d, d), qkv.narrow(1, 2 * d, d),
                                 h, h, hd, {});
        x = x + a.matmul(W("attn.c_proj.weight")) + W("attn.c_proj.bias");
        y = ref_layer_norm(x, W("ln_2.weight"), W("ln_2.bias"), s.norm_eps);
        Tensor m = ref_act(y.matmul(W("mlp.c_fc.weight")) + W("mlp.c_fc.bias"), s.hidden_act);
        x = x + m.matmul(W("mlp.c_proj.weight")) + W("mlp.c_proj.bias");
      }
      x = ref_layer_norm(x, get(w, "transformer.ln_f.weight"), get(w, "transformer.ln_f.bias"),
                         s.norm_eps);
      head = s.tie_word_embeddings ? get(w, "transformer.wte.weight") : get(w, "lm_head.weight");
    } else if (s.model_type == "gpt_neox") {
      auto inv = ref_inv_freq(int64_t(double(hd) * s.rotary_pct), s.rope_theta, std::nullopt);
      x = get(w, "gpt_neox.embed_in.weight").index_select(0, id);
      for (int64_t i = 0; i < s.num_layers; ++i) {
        auto W = [&](const std::string& n) { return get(w, L("gpt_neox.layers.{}." + n, i)); };
        Tensor y = ref_layer_norm(x, W("input_layernorm.weight"), W("input_layernorm.bias"),
                                  s.norm_eps);
        Tensor qkv = y.matmul(W("attention.query_key_value.weight").t()) +
                     W("attention.query_key_value.bias");  // [T, 3d] = per head q|k|v
        std::vector<Tensor> q, k, v;
        for (int64_t j = 0; j < h; ++j) {
          q.push_back(qkv.narrow(1, j * 3 * hd, hd));
          k.push_back(qkv.narrow(1, j * 3 * hd + hd, hd));
          v.push_back(qkv.narrow(1, j * 3 * hd + 2 * hd, hd));
        }
        Tensor a = ref_attention(torch::cat(q, 1), torch::cat(k, 1), torch::cat(v, 1), h, h, hd, inv);
        a = a.matmul(W("attention.dense.weight").t()) + W("attention.dense.bias");
        auto mlp = [&](const Tensor& z) {
          Tensor n = ref_layer_norm(z, W("post_attention_layernorm.weight"),
                                    W("post_attention_layernorm.bias"), s.norm_eps);
          Tensor u = ref_act(n.matmul(W("mlp.dense_h_to_4h.weight").t()) + W("mlp.dense_h_to_4h.bias"),
                             s.hidden_act);
          return u.matmul(W("mlp.dense_4h_to_h.weight").t()) + W("mlp.dense_4h_to_h.bias");
        };
        if (c.value("use_parallel_residual", true)) {
          x = x + a + mlp(x);
        } else {
          Tensor hmid = x + a;
          x = hmid + mlp(hmid);
        }
      }
      x = ref_layer_norm(x, get(w, "gpt_neox.final_layer_norm.weight"),
                         get(w, "gpt_neox.final_layer_norm.bias"), s.norm_eps);
      head = get(w, "embed_out.weight");
    } else if (s.model_type == "opt") {
      // Positions 0..T-1 read rows 2..T+1; norms before each block, or after each residual add
      // (post_layer_norm) with no final norm; project_in/out around the decoder when the
      // embedding width differs.
      const bool proj = c.value("word_embed_proj_dim", d) != d, affine = c.value("layer_norm_elementwise_affine", true);
      const bool post = !c.value("do_layer_norm_before", true), bias = c.value("enable_bias", true);
      auto ln = [&](const Tensor& z, const std::string& n) {
        return affine ? ref_layer_norm(z, get(w, n + ".weight"), get(w, n + ".bias"), s.norm_eps)
                      : ref_layer_norm(z, torch::ones({1}, z.options()), torch::zeros({1}, z.options()), s.norm_eps);
      };
      x = get(w, "model.decoder.embed_tokens.weight").index_select(0, id);
      if (proj) x = x.matmul(get(w, "model.decoder.project_in.weight").t());
      x = x + get(w, "model.decoder.embed_positions.weight").narrow(0, 2, T);
      for (int64_t i = 0; i < s.num_layers; ++i) {
        const std::string p = L("model.decoder.layers.{}.", i);
        auto lin = [&](const Tensor& z, const std::string& n) {
          Tensor r = z.matmul(get(w, p + n + ".weight").t());
          return bias ? r + get(w, p + n + ".bias") : r;
        };
        Tensor y = post ? x : ln(x, p + "self_attn_layer_norm");
        Tensor a = ref_attention(lin(y, "self_attn.q_proj"), lin(y, "self_attn.k_proj"),
                                 lin(y, "self_attn.v_proj"), h, h, hd, {});
        x = x + lin(a, "self_attn.out_proj");
        if (post) x = ln(x, p + "self_attn_layer_norm");
        y = post ? x : ln(x, p + "final_layer_norm");
        x = x + lin(ref_act(lin(y, "fc1"), s.hidden_act), "fc2");
        if (post) x = ln(x, p + "final_layer_norm");
      }
      if (!post) x = ln(x, "model.decoder.final_layer_norm");
      if (proj) x = x.matmul(get(w, "model.decoder.project_out.weight").t());
      head = s.tie_word_embeddings ? get(w, "model.decoder.embed_tokens.weight") : get(w, "lm_head.weight");
    } else {  // llama and the families sharing its decoder
      // Fixed by the family: qwen2's q/k/v-only biases, qwen3's per-head q/k norm, olmo's
      // LayerNorm without parameters, olmo2's norms after the blocks and whole-projection q/k norm.
      const std::string& t = s.model_type;
      const bool olmo = t == "olmo", olmo2 = t == "olmo2";
      const bool ab = c.value("attention_bias", false), qkvb = ab || t == "qwen2", mb = c.value("mlp_bias", false);
      const double clip_qkv = c.contains("clip_qkv") && !c.at("clip_qkv").is_null() ? c.at("clip_qkv").get<double>() : 0;
      auto inv = ref_inv_freq(hd, s.rope_theta, s.rope_scaling);
      x = get(w, "model.embed_tokens.weight").index_select(0, id);
      for (int64_t i = 0; i < s.num_layers; ++i) {
        auto W = [&](const std::string& n) { return get(w, L("model.layers.{}." + n, i)); };
        auto lin = [&](const Tensor& z, const std::string& n, bool bias) {
          Tensor r = z.matmul(W(n + ".weight").t());
          if (bias) r = r + W(n + ".bias");
          const bool qkv = n == "self_attn.q_proj" || n == "self_attn.k_proj" || n == "self_attn.v_proj";
          return qkv && clip_qkv > 0 ? r.clamp(-clip_qkv, clip_qkv) : r;
        };
        // olmo: LayerNorm without gain or bias (the formula with w = 1, b = 0).
        auto norm = [&](const Tensor& z, const std::string& n) {
          if (olmo) return ref_layer_norm(z, torch::ones({1}, z.options()), torch::zeros({1}, z.options()), s.norm_eps);
          return ref_rms_norm(z, get(w, n), s.norm_eps);
        };
        // olmo2: x + norm(attn(x)), x + norm(mlp(x)), no input norms.
        const bool after = olmo2;
        Tensor y = after ? x : norm(x, L("model.layers.{}.input_layernorm.weight", i));
        HeadOptions ho;
        if (t == "qwen3") ho = {W("self_attn.q_norm.weight"), W("self_attn.k_norm.weight"), s.norm_eps};
        if (size_t(i) < s.layer_windows.size()) ho.window = s.layer_windows[size_t(i)];
        const bool nope = c.contains("no_rope_layers") && c.at("no_rope_layers").at(size_t(i)) == 0;
        Tensor q = lin(y, "self_attn.q_proj", qkvb), k = lin(y, "self_attn.k_proj", qkvb);
        if (olmo2) {  // over the whole projection
          q = ref_rms_norm(q, W("self_attn.q_norm.weight"), s.norm_eps);
          k = ref_rms_norm(k, W("self_attn.k_norm.weight"), s.norm_eps);
        }
        Tensor a = ref_attention(q, k, lin(y, "self_attn.v_proj", qkvb), h, s.num_kv_heads, hd,
                                 nope ? std::vector<double>{} : inv, ho);
        a = lin(a, "self_attn.o_proj", ab);
        x = x + (after ? ref_rms_norm(a, W("post_attention_layernorm.weight"), s.norm_eps) : a);
        y = after ? x : norm(x, L("model.layers.{}.post_attention_layernorm.weight", i));
        Tensor g = ref_act(lin(y, "mlp.gate_proj", mb), "silu") * lin(y, "mlp.up_proj", mb);
        Tensor m = lin(g, "mlp.down_proj", mb);
        x = x + (after ? ref_rms_norm(m, W("post_feedforward_layernorm.weight"), s.norm_eps) : m);
      }
      x = olmo
              ? ref_layer_norm(x, torch::ones({1}, x.options()), torch::zeros({1}, x.options()), s.norm_eps)
              : ref_rms_norm(x, get(w, "model.norm.weight"), s.norm_eps);
      head = s.tie_word_embeddings ? get(w, "model.embed_tokens.weight") : get(w, "lm_head.weight");
    }
    out.push_back(x.matmul(head.t()));  // [T, V]
  }
  return torch::stack(out);
}

// The sizes every test model shares, in the Llama-style config.json dialect.
json llama_style(const std::string& type) {
  return {{"model_type", type}, {"vocab_size", 97}, {"hidden_size", 64}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 4}, {"head_dim", 16}, {"intermediate_size", 96},
          {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-5}, {"hidden_act", "silu"},
          {"tie_word_embeddings", false}};
}
json with(json j, const json& extra) {
  j.update(extra);
  return j;
}

// original_max_position_embeddings 64 puts head_dim 16's frequencies in all three llama3
// bands (unchanged, smoothed, divided by factor) at theta 10000.
Arch llama_gqa() {
  return arch(with(llama_style("llama"), {{"num_key_value_heads", 2},
      {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                        {"original_max_position_embeddings", 64}}}}));
}
// Biases, tied head, head_dim != hidden/heads.
Arch llama_bias() {
  return arch(with(llama_style("llama"), {{"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"head_dim", 12},
      {"attention_bias", true}, {"mlp_bias", true}, {"tie_word_embeddings", true}, {"rope_theta", 500.0}}));
}
// Qwen2: q/k/v biases without o bias; layer 1 slides with window 5 (sequences of 12).
Arch qwen2_window() {
  return arch(with(llama_style("qwen2"), {{"num_key_value_heads", 2}, {"use_sliding_window", true},
      {"sliding_window", 5}, {"max_window_layers", 1}}));
}
// Qwen3: per-head q/k norm, every bias, head_dim != hidden/heads, every layer slides (window 4).
Arch qwen3_window() {
  return arch(with(llama_style("qwen3"), {{"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"head_dim", 12},
      {"attention_bias", true}, {"use_sliding_window", true}, {"sliding_window", 4}, {"max_window_layers", 0}}));
}
// SmolLM3: layer 1 without rotary (NoPE) and sliding (window 3), every bias.
Arch smollm3() {
  return arch(with(llama_style("smollm3"), {{"num_key_value_heads", 2}, {"attention_bias", true}, {"mlp_bias", true},
      {"no_rope_layers", {1, 0}}, {"use_sliding_window", true}, {"sliding_window", 3}, {"tie_word_embeddings", false}}));
}
// OLMo: LayerNorm without parameters, q/k/v clamped to +-0.3 (N(0, 0.1) weights give
// projections of ~0.8: many entries clamp), every attention bias.
Arch olmo() { return arch(with(llama_style("olmo"), {{"clip_qkv", 0.3}, {"attention_bias", true}})); }
// OPT as opt-125m..1.3b: pre-norm, ReLU, every bias, tied head.
json opt_config() {
  return {{"model_type", "opt"}, {"vocab_size", 97}, {"hidden_size", 64}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"ffn_dim", 96}, {"max_position_embeddings", 64},
          {"activation_function", "relu"}, {"enable_bias", true}, {"tie_word_embeddings", true}};
}
Arch opt() { return arch(opt_config()); }
// OPT as opt-350m: norms after the residual adds, no final norm, embeddings and head in a
// narrower width (project_in/out); here also an untied head and LayerNorms without parameters.
Arch opt_350m() {
  return arch(with(opt_config(), {{"do_layer_norm_before", false}, {"word_embed_proj_dim", 24},
      {"tie_word_embeddings", false}, {"layer_norm_elementwise_affine", false}}));
}
// OLMo-2: norms after the blocks, q/k RMSNorm over the whole projections, GQA, every bias.
Arch olmo2() { return arch(with(llama_style("olmo2"), {{"num_key_value_heads", 2}, {"attention_bias", true}})); }
// Phi-3: fused q|k|v and gate|up weights, 3/4 of head_dim rotated with longrope (pretraining
// length 16: the 11-token tests stay on the short factors), every layer sliding (window 4).
Arch phi3() {
  return arch(with(llama_style("phi3"), {{"num_key_value_heads", 2}, {"partial_rotary_factor", 0.75},
      {"original_max_position_embeddings", 16}, {"sliding_window", 4},
      {"rope_scaling", {{"type", "longrope"}, {"short_factor", {1.0, 1.2, 1.9, 2.5, 4.0, 6.0}},
                        {"long_factor", {1.5, 3.0, 6.0, 12.0, 24.0, 48.0}}, {"attention_factor", 1.2}}}}));
}
Arch neox(bool parallel) {
  return arch({{"model_type", "gpt_neox"}, {"vocab_size", 97}, {"hidden_size", 64}, {"num_hidden_layers", 2},
               {"num_attention_heads", 4}, {"intermediate_size", 96}, {"max_position_embeddings", 64},
               {"layer_norm_eps", 1e-5}, {"hidden_act", "gelu"}, {"rotary_pct", 0.25}, {"attention_bias", true},
               {"use_parallel_residual", parallel}, {"tie_word_embeddings", false}});
}
Arch gpt2() {
  return arch({{"model_type", "gpt2"}, {"vocab_size", 97}, {"n_embd", 64}, {"n_layer", 2}, {"n_head", 4},
               {"n_inner", 256}, {"n_positions", 64}, {"layer_norm_epsilon", 1e-5},
               {"activation_function", "gelu_new"}, {"tie_word_embeddings", true}});
}

Tensor random_ids(const ModelSpec& s, int64_t B, int64_t T, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, s.vocab_size, {B, T}, torch::kInt64);
}

// Gemma's own fields (query_pre_attn_scalar, soft caps, two rotary bases) belong to its family,
// not to ModelSpec: its specs come from a config.json, and the reference takes the same values.
struct GemmaRef {
  double qpas = 0, attn_cap = 0, final_cap = 0, local_theta = 0;  // local_theta 0: one base
  bool qk_norm = false;
  std::vector<bool> sliding;
};

// Gemma-2: scores scaled by 24^-1/2 and capped at 0.5, logits capped at 1, layer 0 slides
// (window 4), GQA 2:1, q/k/v/o biases, untied.
const GemmaRef kGemma2Ref{24, 0.5, 1.0, 0, false, {true, false}};
Arch gemma2() {
  return arch(json::parse(R"({"model_type": "gemma2", "vocab_size": 97, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "query_pre_attn_scalar": 24,
    "attn_logit_softcapping": 0.5, "final_logit_softcapping": 1.0, "sliding_window": 4,
    "attention_bias": true, "tie_word_embeddings": false})"));
}
// Gemma-3: per-head q/k norms, layer 0 sliding (window 5, rope base 100), layer 1 full (base
// 1e6, linear scaling 2), no caps, tied.
const GemmaRef kGemma3Ref{16, 0, 0, 100, true, {true, false}};
Arch gemma3() {
  return arch(json::parse(R"({"model_type": "gemma3_text", "vocab_size": 97, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "query_pre_attn_scalar": 16,
    "sliding_window": 5, "layer_types": ["sliding_attention", "full_attention"],
    "rope_theta": 1000000.0, "rope_local_base_freq": 100.0, "rope_scaling": {"rope_type": "linear", "factor": 2.0}})"));
}

// Gemma from its formulas: embeddings * sqrt(d), (1 + w) RMSNorms before and after attention
// and MLP, GeGLU (tanh gelu), capped scores and logits.
Tensor ref_gemma_logits(const Arch& a, const GemmaRef& g, const Weights& w, const Tensor& ids) {
  const ModelSpec& s = a.spec;
  const bool bias = a.cfg.value("attention_bias", false);
  const int64_t d = s.hidden_size, h = s.num_heads, hd = s.head_dim;
  auto norm = [&](const Tensor& z, const Tensor& gain) { return ref_rms_norm(z, 1 + gain, s.norm_eps); };
  std::vector<double> global = ref_inv_freq(hd, s.rope_theta, std::nullopt);
  if (s.rope_scaling)
    for (double& f : global) f /= s.rope_scaling->factor;  // linear
  const std::vector<double> local = g.local_theta > 0 ? ref_inv_freq(hd, g.local_theta, std::nullopt) : global;
  std::vector<Tensor> out;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    Tensor x = get(w, "model.embed_tokens.weight").index_select(0, ids[b]) * std::sqrt(double(d));
    for (int64_t i = 0; i < s.num_layers; ++i) {
      auto W = [&](const std::string& n) { return get(w, L("model.layers.{}." + n, i)); };
      auto lin = [&](const Tensor& z, const std::string& n) {
        Tensor r = z.matmul(W(n + ".weight").t());
        return bias && n.rfind("self_attn.", 0) == 0 ? r + W(n + ".bias") : r;
      };
      const bool sliding = g.sliding[size_t(i)];
      HeadOptions ho;
      if (g.qk_norm) ho = {1 + W("self_attn.q_norm.weight"), 1 + W("self_attn.k_norm.weight"), s.norm_eps};
      ho.window = size_t(i) < s.layer_windows.size() ? s.layer_windows[size_t(i)] : 0;
      ho.scale = 1 / std::sqrt(g.qpas);
      ho.softcap = g.attn_cap;
      Tensor y = norm(x, W("input_layernorm.weight"));
      Tensor a = ref_attention(lin(y, "self_attn.q_proj"), lin(y, "self_attn.k_proj"), lin(y, "self_attn.v_proj"),
                               h, s.num_kv_heads, hd, sliding ? local : global, ho);
      x = x + norm(lin(a, "self_attn.o_proj"), W("post_attention_layernorm.weight"));
      y = norm(x, W("pre_feedforward_layernorm.weight"));
      Tensor m = lin(ref_act(lin(y, "mlp.gate_proj"), "gelu_new") * lin(y, "mlp.up_proj"), "mlp.down_proj");
      x = x + norm(m, W("post_feedforward_layernorm.weight"));
    }
    x = norm(x, get(w, "model.norm.weight"));
    Tensor logits = x.matmul((s.tie_word_embeddings ? get(w, "model.embed_tokens.weight") : get(w, "lm_head.weight")).t());
    out.push_back(g.final_cap > 0 ? g.final_cap * (logits / g.final_cap).tanh() : logits);
  }
  return torch::stack(out);
}

// Mamba (attention-free; its fields are the family's): d 64, expand 2 (E 128), state 6, conv
// kernel 3, dt rank 5, biases everywhere, untied.
Arch mamba() {
  return arch(json::parse(R"({"model_type": "mamba", "vocab_size": 97, "hidden_size": 64, "num_hidden_layers": 2,
    "state_size": 6, "conv_kernel": 3, "expand": 2, "time_step_rank": 5, "use_bias": true,
    "use_conv_bias": true, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": false})"));
}

// Mamba from its recurrence, one position and one channel at a time.
Tensor ref_mamba_logits(const ModelSpec& s, const Weights& w, const Tensor& ids) {
  const int64_t E = s.intermediate_size, N = 6, K = 3, R = 5, T = ids.size(1);
  std::vector<Tensor> out;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    Tensor x = get(w, "backbone.embeddings.weight").index_select(0, ids[b]);  // [T, d]
    for (int64_t i = 0; i < s.num_layers; ++i) {
      auto W = [&](const std::string& n) { return get(w, L("backbone.layers.{}." + n, i)); };
      Tensor y = ref_rms_norm(x, W("norm.weight"), s.norm_eps);
      Tensor xz = y.matmul(W("mixer.in_proj.weight").t()) + W("mixer.in_proj.bias");  // [T, 2E]
      Tensor xs = xz.narrow(1, 0, E), gate = xz.narrow(1, E, E);
      Tensor cw = W("mixer.conv1d.weight").squeeze(1);  // [E, K]
      Tensor u = torch::zeros_like(xs);
      for (int64_t t = 0; t < T; ++t)  // causal: inputs t-K+1 .. t, zeros before the start
        for (int64_t j = 0; j < K; ++j)
          if (t - (K - 1) + j >= 0) u[t] += cw.select(1, j) * xs[t - (K - 1) + j];
      u = u + W("mixer.conv1d.bias");
      u = u / (1 + (-u).exp());  // silu
      Tensor dbc = u.matmul(W("mixer.x_proj.weight").t());  // [T, R + 2N]
      Tensor dt = dbc.narrow(1, 0, R).matmul(W("mixer.dt_proj.weight").t()) + W("mixer.dt_proj.bias");
      dt = (1 + dt.exp()).log();  // softplus
      Tensor A = -W("mixer.A_log").exp();  // [E, N]
      Tensor h = torch::zeros({E, N}, x.options());
      Tensor ys = torch::zeros({T, E}, x.options());
      for (int64_t t = 0; t < T; ++t) {
        Tensor d = dt[t].unsqueeze(1);  // [E, 1]
        h = (d * A).exp() * h + d * dbc[t].narrow(0, R, N).unsqueeze(0) * u[t].unsqueeze(1);
        ys[t] = h.matmul(dbc[t].narrow(0, R + N, N)) + W("mixer.D") * u[t];
      }
      ys = ys * (gate / (1 + (-gate).exp()));
      x = x + ys.matmul(W("mixer.out_proj.weight").t()) + W("mixer.out_proj.bias");
    }
    x = ref_rms_norm(x, get(w, "backbone.norm_f.weight"), s.norm_eps);
    out.push_back(x.matmul(get(w, "lm_head.weight").t()));
  }
  return torch::stack(out);
}

using Reference = std::function<Tensor(const Arch&, const Weights&, const Tensor&)>;

double check_parity(const Arch& a, const char* label, const Reference& reference = ref_logits) {
  const ModelSpec& spec = a.spec;
  auto model = make_random_model(spec, 7);
  perturb(*model, 11);
  Tensor ids = random_ids(spec, 2, 12, 3);
  Tensor logits = model->lm_head(model->forward(model->embed(ids)));  // [B, T, V] f32
  Tensor ref = reference(a, weights_f64(*model), ids);
  EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
  EXPECT_EQ(logits.sizes(), ref.sizes());
  double diff = (logits.to(torch::kFloat64) - ref).abs().max().item<double>();
  double scale = ref.abs().max().item<double>();
  std::printf("%-28s max |logits - reference| = %.3g (max |logit| %.3g)\n", label, diff, scale);
  EXPECT_GT(scale, 0.5) << "logits too small for the comparison to mean anything";
  EXPECT_LT(diff, 1e-5) << label;
  return diff;
}

TEST(Architectures, LlamaGqaLlama3RopeMatchesReference) { check_parity(llama_gqa(), "llama gqa+llama3"); }
TEST(Architectures, LlamaBiasTiedHeadDimMatchesReference) { check_parity(llama_bias(), "llama bias+tied+head_dim"); }
TEST(Architectures, Qwen2BiasWindowMatchesReference) { check_parity(qwen2_window(), "qwen2 qkv bias+window"); }
TEST(Architectures, Qwen3QkNormWindowMatchesReference) { check_parity(qwen3_window(), "qwen3 qk norm+window"); }
TEST(Architectures, Smollm3NopeWindowMatchesReference) { check_parity(smollm3(), "smollm3 nope+window"); }
TEST(Architectures, OlmoLayerNormClipMatchesReference) { check_parity(olmo(), "olmo layernorm+clip"); }
TEST(Architectures, OptMatchesReference) { check_parity(opt(), "opt pre-norm"); }
TEST(Architectures, Opt350mLayoutMatchesReference) { check_parity(opt_350m(), "opt post-norm+project"); }
TEST(Architectures, Olmo2NormsAfterBlocksMatchesReference) { check_parity(olmo2(), "olmo2 post-norms+whole qk norm"); }
TEST(Architectures, GptNeoxParallelMatchesReference) { check_parity(neox(true), "gpt_neox parallel"); }
TEST(Architectures, GptNeoxSequentialMatchesReference) { check_parity(neox(false), "gpt_neox sequential"); }
TEST(Architectures, Gpt2MatchesReference) { check_parity(gpt2(), "gpt2"); }

// The comparison can fail: llama3 scaling changes the logits far beyond the tolerance.
TEST(Architectures, ReferenceDetectsRopeScaling) {
  const Arch a = llama_gqa();
  const ModelSpec& s = a.spec;
  auto model = make_random_model(s, 7);
  perturb(*model, 11);
  Weights w = weights_f64(*model);
  Tensor ids = random_ids(s, 1, 12, 3);
  Tensor ref = ref_logits(a, w, ids);
  Arch unscaled = a;
  unscaled.spec.rope_scaling.reset();
  double d1 = (ref - ref_logits(unscaled, w, ids)).abs().max().item<double>();
  Tensor logits = model->lm_head(model->forward(model->embed(ids))).to(torch::kFloat64);
  double d2 = (logits - ref_logits(unscaled, w, ids)).abs().max().item<double>();
  std::printf("llama3 scaling effect: reference %.3g, model vs unscaled reference %.3g\n", d1, d2);
  EXPECT_GT(d1, 1e-3);
  EXPECT_GT(d2, 1e-3);
}

// forward_cached: a prefix then one token at a time, and a prefix then a multi-token chunk,
// must reproduce the full forward's hidden states.
void check_cached(const ModelSpec& spec, const char* label) {
  auto model = make_random_model(spec, 5);
  perturb(*model, 6);
  torch::NoGradGuard g;
  Tensor ids = random_ids(spec, 2, 11, 9);
  Tensor x = model->embed(ids);           // [B, T, d]
  Tensor full = model->forward(x);        // [B, T, d]

  KVCache c1;
  std::vector<Tensor> parts = {model->forward_cached(x.narrow(1, 0, 5), c1)};
  for (int64_t t = 5; t < 11; ++t) parts.push_back(model->forward_cached(x.narrow(1, t, 1), c1));
  EXPECT_EQ(c1.length(), 11);
  double d1 = (torch::cat(parts, 1) - full).abs().max().item<double>();

  KVCache c2;
  std::vector<Tensor> chunks = {model->forward_cached(x.narrow(1, 0, 3), c2),
                                model->forward_cached(x.narrow(1, 3, 4), c2),
                                model->forward_cached(x.narrow(1, 7, 4), c2)};
  double d2 = (torch::cat(chunks, 1) - full).abs().max().item<double>();
  std::printf("%-20s cached one-by-one %.3g, cached chunks %.3g\n", label, d1, d2);
  EXPECT_LT(d1, 1e-5) << label;
  EXPECT_LT(d2, 1e-5) << label;
}

TEST(Architectures, CachedForwardLlama) { check_cached(llama_gqa().spec, "llama"); }
TEST(Architectures, CachedForwardSlidingWindow) {
  check_cached(qwen2_window().spec, "qwen2 window");
  check_cached(qwen3_window().spec, "qwen3 qk norm+window");
  check_cached(smollm3().spec, "smollm3 nope+window");
  check_cached(olmo().spec, "olmo layernorm+clip");
  check_cached(olmo2().spec, "olmo2 post-norms");
  check_cached(phi3().spec, "phi3 fused+longrope+window");
}
TEST(Architectures, CachedForwardGptNeox) { check_cached(neox(true).spec, "gpt_neox"); }
TEST(Architectures, CachedForwardGpt2) { check_cached(gpt2().spec, "gpt2"); }
TEST(Architectures, CachedForwardOpt) {
  check_cached(opt().spec, "opt");
  check_cached(opt_350m().spec, "opt post-norm+project");
}

// forward_states (the cramming alignment term's hidden states): Hugging Face's hidden_states
// layout, n_layers + 1 states, the last the forward's own output, each layer's input distinct.
TEST(Architectures, ForwardStatesAreEachLayersInputThenTheFinalStates) {
  for (const Arch& a : {llama_gqa(), olmo2(), neox(true), gpt2(), opt_350m(), gemma2(), mamba()}) {
    const ModelSpec& spec = a.spec;
    auto model = make_random_model(spec, 1);
    perturb(*model, 2);
    torch::NoGradGuard g;
    Tensor x = model->embed(random_ids(spec, 2, 6, 4));
    auto states = model->forward_states(x);
    ASSERT_EQ(states.size(), static_cast<size_t>(spec.num_layers + 1)) << spec.model_type;
    EXPECT_TRUE(torch::equal(states.back(), model->forward(x))) << spec.model_type;
    for (size_t i = 0; i + 1 < states.size(); ++i) {
      EXPECT_EQ(states[i].size(1), 6) << spec.model_type << " state " << i;
      if (states[i].sizes() == states[i + 1].sizes()) {  // opt-350m projects the last one out
        EXPECT_FALSE(torch::allclose(states[i].to(torch::kFloat32), states[i + 1].to(torch::kFloat32)))
            << spec.model_type << " state " << i;
      }
    }
    EXPECT_EQ(model->forward_states(x).size(), states.size()) << "each call collects afresh";
  }
}

// Gradients flow to the input embeddings through the frozen model (what cramming needs), and
// a finite difference agrees with them.
TEST(Architectures, GradientToInputEmbeddings) {
  for (const Arch& a : {llama_gqa(), neox(true), gpt2(), opt_350m(), gemma2(), mamba()}) {
    const ModelSpec& spec = a.spec;
    auto model = make_random_model(spec, 1);
    perturb(*model, 2);
    model->freeze();
    Tensor x = model->embed(random_ids(spec, 1, 6, 4)).detach().to(torch::kFloat64).to(torch::kFloat32);
    x.set_requires_grad(true);
    auto loss_of = [&](const Tensor& e) { return model->lm_head(model->forward(e)).select(-1, 3).sum(); };
    Tensor loss = loss_of(x);
    loss.backward();
    ASSERT_TRUE(x.grad().defined());
    for (auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
    // Central difference along the gradient direction.
    torch::NoGradGuard g;
    Tensor dir = x.grad() / x.grad().norm();
    double eps = 1e-2;
    double fd = (loss_of(x + eps * dir) - loss_of(x - eps * dir)).item<double>() / (2 * eps);
    double an = x.grad().norm().item<double>();
    std::printf("%-10s directional derivative: autograd %.6g, finite difference %.6g\n",
                spec.model_type.c_str(), an, fd);
    EXPECT_NEAR(fd, an, 1e-2 * std::max(1.0, an));
  }
}

TEST(Architectures, Gemma2SoftcapWindowMatchesReference) {
  const Arch a = gemma2();
  const ModelSpec& s = a.spec;
  ASSERT_EQ(s.layer_windows, (std::vector<int64_t>{4, 0}));
  check_parity(a, "gemma2 caps+window+bias", [](const Arch& g, const Weights& w, const Tensor& ids) {
    return ref_gemma_logits(g, kGemma2Ref, w, ids);
  });
  // The reference can tell: without either cap, or with head_dim's scale, it is far off.
  auto model = make_random_model(s, 7);
  perturb(*model, 11);
  Weights w = weights_f64(*model);
  Tensor ids = random_ids(s, 2, 12, 3);
  Tensor logits = model->lm_head(model->forward(model->embed(ids))).to(torch::kFloat64);
  for (GemmaRef wrong : {GemmaRef{24, 0, 1.0, 0, false, {true, false}}, GemmaRef{24, 0.5, 0, 0, false, {true, false}},
                         GemmaRef{16, 0.5, 1.0, 0, false, {true, false}}})
    EXPECT_GT((logits - ref_gemma_logits(a, wrong, w, ids)).abs().max().item<double>(), 1e-3);
}
TEST(Architectures, Gemma3QkNormTwoBasesMatchesReference) {
  check_parity(gemma3(), "gemma3 qk norm+two bases", [](const Arch& g, const Weights& w, const Tensor& ids) {
    return ref_gemma_logits(g, kGemma3Ref, w, ids);
  });
}
TEST(Architectures, CachedForwardGemma) {
  check_cached(gemma2().spec, "gemma2 caps+window");
  check_cached(gemma3().spec, "gemma3 two bases");
}

// Fused projections have no bias or clamp slots: a spec asking for them (here carrying OLMo's
// biases and clip_qkv, or Llama's biases) is an error, not a silent drop.
TEST(Architectures, FusedProjectionsRefuseBiasesAndClip) {
  ModelSpec s = phi3().spec;
  EXPECT_NO_THROW(make_random_model(s, 1));
  for (const Arch& other : {olmo(), llama_bias()}) {
    s.family_fields = other.spec.family_fields;
    EXPECT_THROW(make_random_model(s, 1), ModelLoadError) << other.spec.model_type;
  }
}

TEST(Architectures, MambaMatchesRecurrence) {
  const Arch a = mamba();
  EXPECT_EQ(a.spec.intermediate_size, 128);
  EXPECT_EQ(a.spec.max_position_embeddings, 0);  // no position limit
  check_parity(a, "mamba", [](const Arch& m, const Weights& w, const Tensor& ids) { return ref_mamba_logits(m.spec, w, ids); });
}
TEST(Architectures, CachedForwardMamba) { check_cached(mamba().spec, "mamba conv+scan state"); }

// [mem] vectors meet the decoder as given: only token ids are scaled by sqrt(d) (transformers 5).
TEST(Architectures, GemmaEmbedScalesTokensOnly) {
  const ModelSpec s = gemma3().spec;
  auto model = make_random_model(s, 3);
  Tensor ids = random_ids(s, 1, 5, 2);
  Tensor want = at::embedding(model->embedding_weight(), ids) * std::sqrt(64.0);
  EXPECT_LT((model->embed(ids) - want).abs().max().item<double>(), 1e-6);
}

TEST(Architectures, RandomInitIsDeterministicAndHfStyle) {
  ModelSpec s = gpt2().spec;
  auto a = make_random_model(s, 42), b = make_random_model(s, 42), c = make_random_model(s, 43);
  auto wa = export_hf_weights(*a), wb = export_hf_weights(*b), wc = export_hf_weights(*c);
  EXPECT_TRUE(wa.at("transformer.wte.weight").equal(wb.at("transformer.wte.weight")));
  EXPECT_FALSE(wa.at("transformer.wte.weight").equal(wc.at("transformer.wte.weight")));
  EXPECT_NEAR(wa.at("transformer.wte.weight").std().item<double>(), 0.02, 0.002);
  // GPT-2 scales residual projections by 1/sqrt(2 * n_layer).
  EXPECT_NEAR(wa.at("transformer.h.0.mlp.c_proj.weight").std().item<double>(), 0.02 / 2.0, 0.001);
  EXPECT_TRUE(wa.at("transformer.h.1.ln_2.weight").eq(1).all().item<bool>());
  EXPECT_TRUE(wa.at("transformer.h.1.attn.c_attn.bias").eq(0).all().item<bool>());
  EXPECT_EQ(wa.count("lm_head.weight"), 0u);  // tied: written once, as HF does
}

}  // namespace
}  // namespace crammer
