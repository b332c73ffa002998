// The Gemma decoder (gemma_decoder.hpp), readable top to bottom: embed * sqrt(d); per block
// x + norm(attn(norm(x))) then x + norm(mlp(norm(x))); final norm; the head (and its soft cap)
// is CausalLM's.
#include "gemma_decoder.hpp"

#include <cmath>

#include "family.hpp"
#include "gemma_fields.hpp"
#include "layers.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

using layers::param;
using Init = HfParam::Init;

struct GemmaBlock : torch::nn::Module {
  torch::Tensor in_norm, wq, wk, wv, wo, bq, bk, bv, bo, q_norm, k_norm, post_attn_norm;
  torch::Tensor pre_ffn_norm, w1, w3, w2, post_ffn_norm;  // w1 gate, w3 up, w2 down
  int64_t window = 0;  // sliding window of this layer, 0 = full attention
  bool local = false;  // a sliding_attention layer: gemma3's local rotary

  GemmaBlock(const ModelSpec& s, const GemmaFields& g, const torch::TensorOptions& o, size_t layer) {
    if (layer < s.layer_windows.size()) window = s.layer_windows[layer];
    local = layer < g.sliding.size() && g.sliding[layer];
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    const int64_t qd = s.num_heads * s.head_dim, kvd = s.num_kv_heads * s.head_dim;
    in_norm = param(*this, "in_norm", {d}, o);
    wq = param(*this, "wq", {qd, d}, o);
    wk = param(*this, "wk", {kvd, d}, o);
    wv = param(*this, "wv", {kvd, d}, o);
    wo = param(*this, "wo", {d, qd}, o);
    if (g.attention_bias) {
      bq = param(*this, "bq", {qd}, o);
      bk = param(*this, "bk", {kvd}, o);
      bv = param(*this, "bv", {kvd}, o);
      bo = param(*this, "bo", {d}, o);
    }
    if (g.qk_norm) {
      q_norm = param(*this, "q_norm", {s.head_dim}, o);
      k_norm = param(*this, "k_norm", {s.head_dim}, o);
    }
    post_attn_norm = param(*this, "post_attn_norm", {d}, o);
    pre_ffn_norm = param(*this, "pre_ffn_norm", {d}, o);
    w1 = param(*this, "w1", {f, d}, o);
    w3 = param(*this, "w3", {f, d}, o);
    w2 = param(*this, "w2", {d, f}, o);
    post_ffn_norm = param(*this, "post_ffn_norm", {d}, o);
  }
};

class GemmaDecoder : public TokenLM {
 public:
  GemmaDecoder(const ModelSpec& s, const torch::TensorOptions& o)
      : TokenLM(s),
        g_(gemma_fields(spec_)),
        act_(layers::activation_from_name(s.hidden_act)),
        rotary_(layers::make_rotary(s.head_dim, s.rope_theta, s.rope_scaling)) {
    if (g_.local_rope) local_rotary_ = layers::make_rotary(s.head_dim, g_.local_rope_theta, g_.local_rope_scaling);
    const int64_t d = s.hidden_size;
    tokens_ = param(*this, "tok_embeddings", {s.vocab_size, d}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(
          register_module("layers_" + std::to_string(i), std::make_shared<GemmaBlock>(s, g_, o, size_t(i))));
    norm_ = param(*this, "norm", {d}, o);
    if (!s.tie_word_embeddings) head_ = param(*this, "output", {s.vocab_size, d}, o);
  }

  // transformers' Gemma*TextScaledWordEmbedding: the scale sqrt(d), rounded to the weights'
  // dtype, multiplies what the embedding module returns. [mem] vectors are concatenated after
  // it, as inputs_embeds are, so they are not scaled.
  torch::Tensor embed(const torch::Tensor& ids) override {
    torch::Tensor scale = torch::scalar_tensor(std::sqrt(double(spec_.hidden_size)), torch::kFloat32);
    return at::embedding(tokens_, ids) * scale.to(tokens_.scalar_type()).to(tokens_.device());
  }
  double final_logit_softcap() const override { return g_.final_logit_softcap; }

  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"model.embed_tokens.weight", tokens_}};
    for (size_t i = 0; i < blocks_.size(); ++i) {
      GemmaBlock& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"model.layers.{}.input_layernorm.weight", b.in_norm, Init::zeros},
          {"model.layers.{}.self_attn.q_proj.weight", b.wq},
          {"model.layers.{}.self_attn.q_proj.bias", b.bq, Init::zeros},
          {"model.layers.{}.self_attn.k_proj.weight", b.wk},
          {"model.layers.{}.self_attn.k_proj.bias", b.bk, Init::zeros},
          {"model.layers.{}.self_attn.v_proj.weight", b.wv},
          {"model.layers.{}.self_attn.v_proj.bias", b.bv, Init::zeros},
          {"model.layers.{}.self_attn.o_proj.weight", b.wo},
          {"model.layers.{}.self_attn.o_proj.bias", b.bo, Init::zeros},
          {"model.layers.{}.self_attn.q_norm.weight", b.q_norm, Init::zeros},
          {"model.layers.{}.self_attn.k_norm.weight", b.k_norm, Init::zeros},
          {"model.layers.{}.post_attention_layernorm.weight", b.post_attn_norm, Init::zeros},
          {"model.layers.{}.pre_feedforward_layernorm.weight", b.pre_ffn_norm, Init::zeros},
          {"model.layers.{}.mlp.gate_proj.weight", b.w1},
          {"model.layers.{}.mlp.up_proj.weight", b.w3},
          {"model.layers.{}.mlp.down_proj.weight", b.w2},
          {"model.layers.{}.post_feedforward_layernorm.weight", b.post_ffn_norm, Init::zeros},
      });
    }
    t.push_back({"model.norm.weight", norm_, Init::zeros});
    if (head_.defined()) t.push_back({"lm_head.weight", head_});
    return t;
  }

 private:
  // x [B, T, d] at positions past..past+T-1 -> final hidden [B, T, d].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const int64_t B = embeds.size(0), T = embeds.size(1);
    const int64_t h = spec_.num_heads, kvh = spec_.num_kv_heads, hd = spec_.head_dim;
    const int64_t past = cache ? cache->length() : 0;
    const double scale = 1.0 / std::sqrt(double(g_.query_pre_attn_scalar));
    auto [cos, sin] = layers::rotary_cos_sin(rotary_, past, T, embeds.scalar_type(), embeds.device());  // [T, hd]
    torch::Tensor lcos = cos, lsin = sin;  // the sliding layers' (gemma3: their own base)
    if (g_.local_rope)
      std::tie(lcos, lsin) = layers::rotary_cos_sin(local_rotary_, past, T, embeds.scalar_type(), embeds.device());
    torch::Tensor x = embeds;  // [B, T, d]
    for (size_t i = 0; i < blocks_.size(); ++i) {
      GemmaBlock& b = *blocks_[i];
      record(x);
      // h = x + norm(attention(norm(x)))
      torch::Tensor y = norm(x, b.in_norm);
      torch::Tensor q = layers::linear(y, b.wq, b.bq).reshape({B, T, h, hd});
      torch::Tensor k = layers::linear(y, b.wk, b.bk).reshape({B, T, kvh, hd});
      torch::Tensor v = layers::linear(y, b.wv, b.bv).reshape({B, T, kvh, hd}).transpose(1, 2);
      if (b.q_norm.defined()) {  // gemma3: each head over head_dim, before rotary
        q = norm(q, b.q_norm);
        k = norm(k, b.k_norm);
      }
      q = layers::apply_rotary(q.transpose(1, 2), b.local ? lcos : cos, b.local ? lsin : sin);  // [B, h, T, hd]
      k = layers::apply_rotary(k.transpose(1, 2), b.local ? lcos : cos, b.local ? lsin : sin);
      auto [kc, vc] = layers::cache_append(cache, i, k, v);
      torch::Tensor a = layers::attention(q, kc, vc, past, attention_, b.window, scale, g_.attn_logit_softcap);
      a = layers::linear(a.transpose(1, 2).reshape({B, T, h * hd}), b.wo, b.bo);
      x = x + norm(a, b.post_attn_norm);
      // out = h + norm(ffn(norm(h))), GeGLU: w2(act(w1 y) * w3 y)
      y = norm(x, b.pre_ffn_norm);
      torch::Tensor m = layers::linear(layers::activate(layers::linear(y, b.w1), act_) * layers::linear(y, b.w3), b.w2);
      x = x + norm(m, b.post_ffn_norm);
    }
    return record(norm(x, norm_));
  }

  // Gemma's RMSNorm: normalised and scaled by (1 + w) in f32, then cast back (Llama casts first).
  torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& w) const {
    torch::Tensor x32 = x.to(torch::kFloat32);
    x32 = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + spec_.norm_eps);
    return (x32 * (1.0 + w.to(torch::kFloat32))).to(x.scalar_type());
  }

  const GemmaFields& g_;
  layers::Activation act_;
  layers::Rotary rotary_, local_rotary_;
  torch::Tensor norm_;
  std::vector<std::shared_ptr<GemmaBlock>> blocks_;
};

std::shared_ptr<CausalLM> make_gemma_decoder(const ModelSpec& spec, const c10::TensorOptions& options) {
  return std::make_shared<GemmaDecoder>(spec, options);
}

}  // namespace

Family gemma_style_family(const std::string& model_type, const std::string& hf_class,
                          void (*read)(const ConfigFields&, ModelSpec&), void (*write)(const ModelSpec&, json&),
                          void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*)(const std::string&))) {
  Family f;
  f.model_type = model_type;
  f.hf_class = hf_class;
  f.head_dim_field = true;
  f.read = read;
  f.write = write;
  f.make_defaults = make_defaults;
  f.base_prefix = "model.";
  f.head = "lm_head.weight";
  f.build = make_gemma_decoder;
  f.options = {"sliding-window"};
  return f;
}

}  // namespace crammer
