// The Llama-style decoder (llama_decoder.hpp), readable top to bottom: embed, per block
// x + attn(norm(x)) then x + mlp(norm(x)) (olmo2: x + norm(attn(x)) then x + norm(mlp(x))),
// final norm; the LM head is CausalLM's.
#include "llama_decoder.hpp"

#include "crammer/util/error.hpp"
#include "family.hpp"
#include "family_fields.hpp"
#include "layers.hpp"
#include "llama_fields.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

using layers::param;
using Init = HfParam::Init;

struct LlamaBlock : torch::nn::Module {
  torch::Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, bo;
  torch::Tensor ffn_norm, w1, w3, w2, b1, b3, b2;  // w1 gate, w3 up, w2 down
  torch::Tensor wqkv, w13;  // fused_projections (phi3): [q; k; v] and [gate; up] in one weight each

  torch::Tensor q_norm, k_norm;  // qk_norm only: [hd] each, or [h*hd], [kvh*hd] (qk_norm_whole)
  torch::Tensor post_attn_norm, post_ffn_norm;  // norms_after_blocks only
  int64_t window = 0;            // sliding window of this layer, 0 = full attention
  bool rotary = true;            // false: a NoPE layer (smollm3)

  LlamaBlock(const ModelSpec& s, const LlamaStyle& st, const LlamaStyleFields& c, const torch::TensorOptions& o,
             size_t layer) {
    // The fused path (phi3) has no bias or clamp slots: a spec asking for them would lose them.
    if (st.fused_projections && (c.attention_bias || st.qkv_bias || c.mlp_bias || c.clip_qkv > 0))
      throw ModelLoadError(s.model_type + ": fused qkv_proj / gate_up_proj take no biases and no clip_qkv");
    if (layer < s.layer_windows.size()) window = s.layer_windows[layer];
    if (layer < c.nope_layers.size()) rotary = !c.nope_layers[layer];
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    const int64_t qd = s.num_heads * s.head_dim, kvd = s.num_kv_heads * s.head_dim;
    const bool before = !st.norms_after_blocks && !st.parameterless_layer_norm;
    if (before) attn_norm = param(*this, "attn_norm", {d}, o);
    if (st.fused_projections) {
      wqkv = param(*this, "wqkv", {qd + 2 * kvd, d}, o);
    } else {
      wq = param(*this, "wq", {qd, d}, o);
      wk = param(*this, "wk", {kvd, d}, o);
      wv = param(*this, "wv", {kvd, d}, o);
    }
    wo = param(*this, "wo", {d, qd}, o);
    if (c.attention_bias || st.qkv_bias) {
      bq = param(*this, "bq", {qd}, o);
      bk = param(*this, "bk", {kvd}, o);
      bv = param(*this, "bv", {kvd}, o);
    }
    if (c.attention_bias) bo = param(*this, "bo", {d}, o);
    if (st.qk_norm || st.qk_norm_whole) {
      q_norm = param(*this, "q_norm", {st.qk_norm_whole ? qd : s.head_dim}, o);
      k_norm = param(*this, "k_norm", {st.qk_norm_whole ? kvd : s.head_dim}, o);
    }
    if (before) ffn_norm = param(*this, "ffn_norm", {d}, o);
    if (st.norms_after_blocks) {
      post_attn_norm = param(*this, "post_attn_norm", {d}, o);
      post_ffn_norm = param(*this, "post_ffn_norm", {d}, o);
    }
    if (st.fused_projections) {
      w13 = param(*this, "w13", {2 * f, d}, o);
    } else {
      w1 = param(*this, "w1", {f, d}, o);
      w3 = param(*this, "w3", {f, d}, o);
    }
    w2 = param(*this, "w2", {d, f}, o);
    if (c.mlp_bias) {
      b1 = param(*this, "b1", {f}, o);
      b3 = param(*this, "b3", {f}, o);
      b2 = param(*this, "b2", {d}, o);
    }
  }
};

class LlamaDecoder : public TokenLM {
 public:
  LlamaDecoder(const ModelSpec& s, const LlamaStyle& style, const torch::TensorOptions& o)
      : TokenLM(s),
        style_(style),
        c_(fields_of<LlamaStyleFields>(spec_)),
        act_(layers::activation_from_name(s.hidden_act)),
        rotary_(layers::make_rotary(int64_t(double(s.head_dim) * s.rotary_pct), s.rope_theta, s.rope_scaling)) {
    const int64_t d = s.hidden_size;
    tokens_ = param(*this, "tok_embeddings", {s.vocab_size, d}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(
          register_module("layers_" + std::to_string(i), std::make_shared<LlamaBlock>(s, style, c_, o, size_t(i))));
    if (!style.parameterless_layer_norm) norm_ = param(*this, "norm", {d}, o);
    if (!s.tie_word_embeddings) head_ = param(*this, "output", {s.vocab_size, d}, o);
  }


  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"model.embed_tokens.weight", tokens_}};
    for (size_t i = 0; i < blocks_.size(); ++i) {
      LlamaBlock& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"model.layers.{}.input_layernorm.weight", b.attn_norm, Init::ones},
          {"model.layers.{}.self_attn.qkv_proj.weight", b.wqkv},
          {"model.layers.{}.self_attn.q_proj.weight", b.wq},
          {"model.layers.{}.self_attn.q_proj.bias", b.bq, Init::zeros},
          {"model.layers.{}.self_attn.k_proj.weight", b.wk},
          {"model.layers.{}.self_attn.k_proj.bias", b.bk, Init::zeros},
          {"model.layers.{}.self_attn.v_proj.weight", b.wv},
          {"model.layers.{}.self_attn.v_proj.bias", b.bv, Init::zeros},
          {"model.layers.{}.self_attn.o_proj.weight", b.wo},
          {"model.layers.{}.self_attn.o_proj.bias", b.bo, Init::zeros},
          {"model.layers.{}.self_attn.q_norm.weight", b.q_norm, Init::ones},
          {"model.layers.{}.self_attn.k_norm.weight", b.k_norm, Init::ones},
          {"model.layers.{}.post_attention_layernorm.weight", b.ffn_norm, Init::ones},
          {"model.layers.{}.post_attention_layernorm.weight", b.post_attn_norm, Init::ones},  // olmo2's
          {"model.layers.{}.post_feedforward_layernorm.weight", b.post_ffn_norm, Init::ones},
          {"model.layers.{}.mlp.gate_up_proj.weight", b.w13},
          {"model.layers.{}.mlp.gate_proj.weight", b.w1},
          {"model.layers.{}.mlp.gate_proj.bias", b.b1, Init::zeros},
          {"model.layers.{}.mlp.up_proj.weight", b.w3},
          {"model.layers.{}.mlp.up_proj.bias", b.b3, Init::zeros},
          {"model.layers.{}.mlp.down_proj.weight", b.w2},
          {"model.layers.{}.mlp.down_proj.bias", b.b2, Init::zeros},
      });
    }
    if (norm_.defined()) t.push_back({"model.norm.weight", norm_, Init::ones});
    if (head_.defined()) t.push_back({"lm_head.weight", head_});
    return t;
  }

 private:
  // x [B, T, d] at positions past..past+T-1 -> final hidden [B, T, d].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const int64_t B = embeds.size(0), T = embeds.size(1);
    const int64_t h = spec_.num_heads, kvh = spec_.num_kv_heads, hd = spec_.head_dim;
    const int64_t past = cache ? cache->length() : 0;
    const bool after = style_.norms_after_blocks;
    auto [cos, sin] = layers::rotary_cos_sin(rotary_, past, T, embeds.scalar_type(),
                                             embeds.device());  // [T, hd]
    torch::Tensor x = embeds;  // [B, T, d]
    for (size_t i = 0; i < blocks_.size(); ++i) {
      LlamaBlock& b = *blocks_[i];
      record(x);
      // h = x + attention(norm(x))   (olmo2: h = x + norm(attention(x)))
      torch::Tensor y = after ? x : norm(x, b.attn_norm);
      torch::Tensor q, k, v;
      if (b.wqkv.defined()) {  // phi3: one projection, split q | k | v
        torch::Tensor qkv = layers::linear(y, b.wqkv);
        q = qkv.narrow(-1, 0, h * hd);
        k = qkv.narrow(-1, h * hd, kvh * hd);
        v = qkv.narrow(-1, (h + kvh) * hd, kvh * hd);
      } else {
        q = clip(layers::linear(y, b.wq, b.bq));
        k = clip(layers::linear(y, b.wk, b.bk));
        v = clip(layers::linear(y, b.wv, b.bv));
      }
      v = v.reshape({B, T, kvh, hd}).transpose(1, 2);
      if (style_.qk_norm_whole) {  // olmo2: over all heads at once
        q = norm(q, b.q_norm);
        k = norm(k, b.k_norm);
      }
      q = q.reshape({B, T, h, hd});
      k = k.reshape({B, T, kvh, hd});
      if (style_.qk_norm) {  // qwen3: each head over head_dim, before rotary
        q = norm(q, b.q_norm);
        k = norm(k, b.k_norm);
      }
      q = q.transpose(1, 2);  // [B, h, T, hd]
      k = k.transpose(1, 2);
      if (b.rotary) {
        q = layers::apply_rotary(q, cos, sin);
        k = layers::apply_rotary(k, cos, sin);
      }
      auto [kc, vc] = layers::cache_append(cache, i, k, v);
      torch::Tensor a = layers::attention(q, kc, vc, past, attention_, b.window).transpose(1, 2).reshape({B, T, h * hd});
      a = layers::linear(a, b.wo, b.bo);
      x = x + (after ? norm(a, b.post_attn_norm) : a);
      // out = h + ffn(norm(h)), SwiGLU: w2(act(w1 y) * w3 y)   (olmo2: h + norm(ffn(h)))
      y = after ? x : norm(x, b.ffn_norm);
      torch::Tensor gate, up;
      if (b.w13.defined()) {  // phi3: one projection, split gate | up
        torch::Tensor gu = layers::linear(y, b.w13);
        gate = gu.narrow(-1, 0, spec_.intermediate_size);
        up = gu.narrow(-1, spec_.intermediate_size, spec_.intermediate_size);
      } else {
        gate = layers::linear(y, b.w1, b.b1);
        up = layers::linear(y, b.w3, b.b3);
      }
      torch::Tensor m = layers::linear(layers::activate(gate, act_) * up, b.w2, b.b2);
      x = x + (after ? norm(m, b.post_ffn_norm) : m);
    }
    return record(norm(x, norm_));
  }

  // RMSNorm with a gain (olmo2: the gain applied in f32 before the cast back), or (olmo)
  // LayerNorm without parameters, in f32 with eps 1e-5.
  torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& w) const {
    if (w.defined() && style_.rms_norm_gain_in_f32) {
      torch::Tensor x32 = x.to(torch::kFloat32);
      x32 = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + spec_.norm_eps);
      return (w.to(torch::kFloat32) * x32).to(x.scalar_type());
    }
    if (w.defined()) return layers::rms_norm(x, w, spec_.norm_eps);
    return at::layer_norm(x.to(torch::kFloat32), {x.size(-1)}, {}, {}, spec_.norm_eps).to(x.scalar_type());
  }
  // olmo's clip_qkv: q, k and v projections clamped to [-c, c].
  torch::Tensor clip(const torch::Tensor& x) const {
    return c_.clip_qkv > 0 ? x.clamp(-c_.clip_qkv, c_.clip_qkv) : x;
  }

  const LlamaStyle style_;
  const LlamaStyleFields& c_;  // spec_'s
  layers::Activation act_;
  layers::Rotary rotary_;
  torch::Tensor norm_;
  std::vector<std::shared_ptr<LlamaBlock>> blocks_;
};

}  // namespace

std::shared_ptr<CausalLM> make_llama_decoder(const ModelSpec& spec, const LlamaStyle& style,
                                             const c10::TensorOptions& options) {
  return std::make_shared<LlamaDecoder>(spec, style, options);
}

Family llama_style_family(const std::string& model_type, const std::string& hf_class,
                          void (*read)(const ConfigFields&, ModelSpec&), void (*write)(const ModelSpec&, json&),
                          void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*)(const std::string&)),
                          const LlamaStyle& style, const std::vector<std::string>& options) {
  Family f;
  f.model_type = model_type;
  f.hf_class = hf_class;
  f.head_dim_field = true;
  f.read = read;
  f.write = write;
  f.make_defaults = make_defaults;
  f.options = options;
  f.base_prefix = "model.";
  f.ignored = {"model.layers.{}.self_attn.rotary_emb.inv_freq"};
  f.head = "lm_head.weight";
  f.build = [style](const ModelSpec& s, const c10::TensorOptions& o) { return make_llama_decoder(s, style, o); };
  return f;
}

}  // namespace crammer
