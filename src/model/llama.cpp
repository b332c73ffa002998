// Llama 2 / 3.x (transformers' modeling_llama.py): RMSNorm (in f32, cast back), rotary with
// rope_theta and optional linear or llama3 rope_scaling, grouped-query attention
// (num_key_value_heads), explicit head_dim, SwiGLU MLP, optional attention_bias / mlp_bias,
// tied or untied lm_head.
// Not: other rope_scaling types (refused by config), sliding windows, tensor-parallel slicing.
#include <cmath>

#include "family.hpp"
#include "layers.hpp"

namespace crammer {
namespace {

// config.json: the fields of this family (hf_config.cpp reads the shared ones).
void read_config(const ConfigFields& f, ModelSpec& s) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = f.integer("num_key_value_heads", s.num_heads);
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("rms_norm_eps", 1e-6);
  s.hidden_act = f.string("hidden_act", "silu");
  check_activation(f, "hidden_act", s.hidden_act);
  read_rope(f, s, /*neox=*/false);
  if (s.rotary_pct != 1.0)
    f.fail("partial_rotary_factor", "only 1.0 (the whole head rotated) is supported for llama");
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  s.attention_bias = f.boolean("attention_bias", false);
  s.mlp_bias = f.boolean("mlp_bias", false);
  s.head_dim = f.integer("head_dim", s.num_heads > 0 ? s.hidden_size / s.num_heads : 0);
}

void write_config(const ModelSpec& s, json& j) {
  j["hidden_size"] = s.hidden_size;
  j["num_hidden_layers"] = s.num_layers;
  j["num_attention_heads"] = s.num_heads;
  j["num_key_value_heads"] = s.num_kv_heads;
  j["head_dim"] = s.head_dim;
  j["intermediate_size"] = s.intermediate_size;
  j["max_position_embeddings"] = s.max_position_embeddings;
  j["rms_norm_eps"] = s.norm_eps;
  j["rope_theta"] = s.rope_theta;
  j["hidden_act"] = s.hidden_act.empty() ? "silu" : s.hidden_act;
  j["attention_bias"] = s.attention_bias;
  j["mlp_bias"] = s.mlp_bias;
  j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
}

// make-model: Llama's defaults (SwiGLU at 8d/3 rounded up to 32, silu, whole head rotated,
// optional Llama-3.1 rope scaling, untied).
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*)(const std::string&)) {
  // SwiGLU has three matrices: 8d/3 keeps the MLP's parameters at those of a 4d GELU MLP.
  s.intermediate_size = o.intermediate_size > 0
                            ? o.intermediate_size
                            : (int64_t(std::ceil(8.0 * double(o.d_model) / 3.0)) + 31) / 32 * 32;
  s.hidden_act = "silu";
  s.rotary_pct = 1.0;
  if (o.llama3_rope_scaling) s.rope_scaling = RopeScaling{"llama3", 8.0, 1.0, 4.0, 8192};
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(false);
}

using layers::param;
using Init = HfParam::Init;

struct LlamaBlock : torch::nn::Module {
  torch::Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, bo;
  torch::Tensor ffn_norm, w1, w3, w2, b1, b3, b2;  // w1 gate, w3 up, w2 down

  LlamaBlock(const ModelSpec& s, const torch::TensorOptions& o) {
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    const int64_t qd = s.num_heads * s.head_dim, kvd = s.num_kv_heads * s.head_dim;
    attn_norm = param(*this, "attn_norm", {d}, o);
    wq = param(*this, "wq", {qd, d}, o);
    wk = param(*this, "wk", {kvd, d}, o);
    wv = param(*this, "wv", {kvd, d}, o);
    wo = param(*this, "wo", {d, qd}, o);
    if (s.attention_bias) {
      bq = param(*this, "bq", {qd}, o);
      bk = param(*this, "bk", {kvd}, o);
      bv = param(*this, "bv", {kvd}, o);
      bo = param(*this, "bo", {d}, o);
    }
    ffn_norm = param(*this, "ffn_norm", {d}, o);
    w1 = param(*this, "w1", {f, d}, o);
    w3 = param(*this, "w3", {f, d}, o);
    w2 = param(*this, "w2", {d, f}, o);
    if (s.mlp_bias) {
      b1 = param(*this, "b1", {f}, o);
      b3 = param(*this, "b3", {f}, o);
      b2 = param(*this, "b2", {d}, o);
    }
  }
};

class Llama : public CausalLM {
 public:
  Llama(const ModelSpec& s, const torch::TensorOptions& o)
      : CausalLM(s),
        act_(layers::activation_from_name(s.hidden_act)),
        rotary_(layers::make_rotary(s.head_dim, s.rope_theta, s.rope_scaling)) {
    const int64_t d = s.hidden_size;
    tok_ = param(*this, "tok_embeddings", {s.vocab_size, d}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(
          register_module("layers_" + std::to_string(i), std::make_shared<LlamaBlock>(s, o)));
    norm_ = param(*this, "norm", {d}, o);
    if (!s.tie_word_embeddings) output_ = param(*this, "output", {s.vocab_size, d}, o);
  }

  torch::Tensor embed(const torch::Tensor& ids) override { return at::embedding(tok_, ids); }
  torch::Tensor embedding_weight() override { return tok_; }
  torch::Tensor head_weight() override { return output_.defined() ? output_ : tok_; }
  torch::Tensor forward(const torch::Tensor& embeds) override { return run(embeds, nullptr); }
  torch::Tensor forward_cached(const torch::Tensor& embeds, KVCache& cache) override {
    return run(embeds, &cache);
  }

  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"model.embed_tokens.weight", tok_}};
    for (size_t i = 0; i < blocks_.size(); ++i) {
      LlamaBlock& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"model.layers.{}.input_layernorm.weight", b.attn_norm, Init::ones},
          {"model.layers.{}.self_attn.q_proj.weight", b.wq},
          {"model.layers.{}.self_attn.q_proj.bias", b.bq, Init::zeros},
          {"model.layers.{}.self_attn.k_proj.weight", b.wk},
          {"model.layers.{}.self_attn.k_proj.bias", b.bk, Init::zeros},
          {"model.layers.{}.self_attn.v_proj.weight", b.wv},
          {"model.layers.{}.self_attn.v_proj.bias", b.bv, Init::zeros},
          {"model.layers.{}.self_attn.o_proj.weight", b.wo},
          {"model.layers.{}.self_attn.o_proj.bias", b.bo, Init::zeros},
          {"model.layers.{}.post_attention_layernorm.weight", b.ffn_norm, Init::ones},
          {"model.layers.{}.mlp.gate_proj.weight", b.w1},
          {"model.layers.{}.mlp.gate_proj.bias", b.b1, Init::zeros},
          {"model.layers.{}.mlp.up_proj.weight", b.w3},
          {"model.layers.{}.mlp.up_proj.bias", b.b3, Init::zeros},
          {"model.layers.{}.mlp.down_proj.weight", b.w2},
          {"model.layers.{}.mlp.down_proj.bias", b.b2, Init::zeros},
      });
    }
    t.push_back({"model.norm.weight", norm_, Init::ones});
    if (output_.defined()) t.push_back({"lm_head.weight", output_});
    return t;
  }

 private:
  // x [B, T, d] at positions past..past+T-1 -> final hidden [B, T, d].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) {
    const int64_t B = embeds.size(0), T = embeds.size(1);
    const int64_t h = spec_.num_heads, kvh = spec_.num_kv_heads, hd = spec_.head_dim;
    const int64_t past = cache ? cache->length() : 0;
    const double eps = spec_.norm_eps;
    auto [cos, sin] = layers::rotary_cos_sin(rotary_, past, T, embeds.scalar_type(),
                                             embeds.device());  // [T, hd]
    torch::Tensor x = embeds;  // [B, T, d]
    for (size_t i = 0; i < blocks_.size(); ++i) {
      LlamaBlock& b = *blocks_[i];
      // h = x + attention(norm(x))
      torch::Tensor y = layers::rms_norm(x, b.attn_norm, eps);
      torch::Tensor q = layers::linear(y, b.wq, b.bq).view({B, T, h, hd}).transpose(1, 2);
      torch::Tensor k = layers::linear(y, b.wk, b.bk).view({B, T, kvh, hd}).transpose(1, 2);
      torch::Tensor v = layers::linear(y, b.wv, b.bv).view({B, T, kvh, hd}).transpose(1, 2);
      q = layers::apply_rotary(q, cos, sin);  // [B, h, T, hd]
      auto [kc, vc] = layers::cache_append(cache, i, layers::apply_rotary(k, cos, sin), v);
      torch::Tensor a = layers::attention(q, kc, vc, past, attention_).transpose(1, 2).reshape({B, T, h * hd});
      x = x + layers::linear(a, b.wo, b.bo);
      // out = h + ffn(norm(h)), SwiGLU: w2(act(w1 y) * w3 y)
      y = layers::rms_norm(x, b.ffn_norm, eps);
      torch::Tensor g = layers::activate(layers::linear(y, b.w1, b.b1), act_);
      x = x + layers::linear(g * layers::linear(y, b.w3, b.b3), b.w2, b.b2);
    }
    return layers::rms_norm(x, norm_, eps);
  }

  layers::Activation act_;
  layers::Rotary rotary_;
  torch::Tensor tok_, norm_, output_;  // tok_ / output_ [V, d]
  std::vector<std::shared_ptr<LlamaBlock>> blocks_;
};

}  // namespace

const Family& llama_family() {
  static const Family family = [] {
    Family f;
    f.model_type = "llama";
    f.hf_class = "LlamaForCausalLM";
    f.head_dim_field = true;
    f.read = read_config;
    f.write = write_config;
    f.make_defaults = make_defaults;
    f.base_prefix = "model.";
    f.ignored = {"model.layers.{}.self_attn.rotary_emb.inv_freq"};
    f.head = "lm_head.weight";
    f.build = [](const ModelSpec& s, const torch::TensorOptions& o) -> std::shared_ptr<CausalLM> {
      return std::make_shared<Llama>(s, o);
    };
    return f;
  }();
  return family;
}

}  // namespace crammer
