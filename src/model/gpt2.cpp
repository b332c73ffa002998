// GPT-2 (transformers' modeling_gpt2.py): learned positions (wpe), pre-LayerNorm blocks,
// Conv1D weights stored [in, out] exactly as in the checkpoint, gelu_new MLP, final ln_f and an
// LM head tied to wte (unless tie_word_embeddings is false). Not: cross-attention, the
// scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn variants (refused by config).
#include <cmath>

#include "crammer/util/error.hpp"
#include "family.hpp"
#include "layers.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

// config.json: the fields of this family (hf_config.cpp reads the shared ones).
void read_config(const ConfigFields& f, ModelSpec& s) {
  s.hidden_size = f.integer("n_embd");
  s.num_layers = f.integer("n_layer");
  s.num_heads = f.integer("n_head");
  s.num_kv_heads = s.num_heads;
  s.max_position_embeddings = f.integer("n_positions");
  s.intermediate_size = f.integer("n_inner", 4 * s.hidden_size);  // null means 4 * n_embd
  s.norm_eps = f.number("layer_norm_epsilon", 1e-5);
  s.hidden_act = f.string("activation_function", "gelu_new");
  check_activation(f, "activation_function", s.hidden_act);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  if (!f.boolean("scale_attn_weights", true))
    f.fail("scale_attn_weights", "false is not supported (crammer scales by 1/sqrt(head_dim))");
  if (f.boolean("scale_attn_by_inverse_layer_idx", false))
    f.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (s.num_heads > 0) s.head_dim = s.hidden_size / s.num_heads;
}

void write_config(const ModelSpec& s, json& j) {
  j["n_embd"] = s.hidden_size;
  j["n_layer"] = s.num_layers;
  j["n_head"] = s.num_heads;
  j["n_positions"] = s.max_position_embeddings;
  j["n_ctx"] = s.max_position_embeddings;
  j["n_inner"] = s.intermediate_size;
  j["layer_norm_epsilon"] = s.norm_eps;
  j["activation_function"] = s.hidden_act.empty() ? "gelu_new" : s.hidden_act;
}

// make-model: GPT-2's own defaults (4d MLP, gelu_new, head tied unless told otherwise).
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  if (s.num_kv_heads != s.num_heads) fail("--kv-heads differs from --heads: " + o.arch + " has no grouped key/value heads");
  s.intermediate_size = o.intermediate_size > 0 ? o.intermediate_size : 4 * o.d_model;
  s.hidden_act = "gelu_new";
  s.rotary_pct = 1.0;
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(true);
}

using layers::param;
using Init = HfParam::Init;

// Conv1D: x [..., in] @ w [in, out] + b.
torch::Tensor conv1d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return at::linear(x, w.t(), b);
}

struct Gpt2Block : torch::nn::Module {
  torch::Tensor ln1_w, ln1_b, c_attn_w, c_attn_b, attn_proj_w, attn_proj_b;
  torch::Tensor ln2_w, ln2_b, c_fc_w, c_fc_b, mlp_proj_w, mlp_proj_b;

  Gpt2Block(const ModelSpec& s, const torch::TensorOptions& o) {
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    ln1_w = param(*this, "ln1_w", {d}, o);
    ln1_b = param(*this, "ln1_b", {d}, o);
    c_attn_w = param(*this, "c_attn_w", {d, 3 * d}, o);
    c_attn_b = param(*this, "c_attn_b", {3 * d}, o);
    attn_proj_w = param(*this, "attn_proj_w", {d, d}, o);
    attn_proj_b = param(*this, "attn_proj_b", {d}, o);
    ln2_w = param(*this, "ln2_w", {d}, o);
    ln2_b = param(*this, "ln2_b", {d}, o);
    c_fc_w = param(*this, "c_fc_w", {d, f}, o);
    c_fc_b = param(*this, "c_fc_b", {f}, o);
    mlp_proj_w = param(*this, "mlp_proj_w", {f, d}, o);
    mlp_proj_b = param(*this, "mlp_proj_b", {d}, o);
  }
};

class Gpt2 : public TokenLM {
 public:
  Gpt2(const ModelSpec& s, const torch::TensorOptions& o)
      : TokenLM(s), act_(layers::activation_from_name(s.hidden_act)) {
    const int64_t d = s.hidden_size;
    tokens_ = param(*this, "wte", {s.vocab_size, d}, o);
    wpe_ = param(*this, "wpe", {s.max_position_embeddings, d}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(register_module("h_" + std::to_string(i), std::make_shared<Gpt2Block>(s, o)));
    ln_f_w_ = param(*this, "ln_f_w", {d}, o);
    ln_f_b_ = param(*this, "ln_f_b", {d}, o);
    if (!s.tie_word_embeddings) head_ = param(*this, "lm_head", {s.vocab_size, d}, o);
  }


  std::vector<HfParam> hf_params() override {
    // std of the residual projections: initializer_range / sqrt(2 * n_layer), as GPT-2 inits.
    const double proj = 1.0 / std::sqrt(2.0 * double(spec_.num_layers));
    std::vector<HfParam> t = {{"transformer.wte.weight", tokens_},
                              {"transformer.wpe.weight", wpe_}};
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Gpt2Block& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"transformer.h.{}.ln_1.weight", b.ln1_w, Init::ones},
          {"transformer.h.{}.ln_1.bias", b.ln1_b, Init::zeros},
          {"transformer.h.{}.attn.c_attn.weight", b.c_attn_w},
          {"transformer.h.{}.attn.c_attn.bias", b.c_attn_b, Init::zeros},
          {"transformer.h.{}.attn.c_proj.weight", b.attn_proj_w, Init::normal, proj},
          {"transformer.h.{}.attn.c_proj.bias", b.attn_proj_b, Init::zeros},
          {"transformer.h.{}.ln_2.weight", b.ln2_w, Init::ones},
          {"transformer.h.{}.ln_2.bias", b.ln2_b, Init::zeros},
          {"transformer.h.{}.mlp.c_fc.weight", b.c_fc_w},
          {"transformer.h.{}.mlp.c_fc.bias", b.c_fc_b, Init::zeros},
          {"transformer.h.{}.mlp.c_proj.weight", b.mlp_proj_w, Init::normal, proj},
          {"transformer.h.{}.mlp.c_proj.bias", b.mlp_proj_b, Init::zeros},
      });
    }
    t.push_back({"transformer.ln_f.weight", ln_f_w_, Init::ones});
    t.push_back({"transformer.ln_f.bias", ln_f_b_, Init::zeros});
    if (head_.defined()) t.push_back({"lm_head.weight", head_});
    return t;
  }

 private:
  // x [B, T, d] at positions past..past+T-1 -> final hidden [B, T, d].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const int64_t B = embeds.size(0), T = embeds.size(1), d = spec_.hidden_size;
    const int64_t h = spec_.num_heads, hd = spec_.head_dim, past = cache ? cache->length() : 0;
    const double eps = spec_.norm_eps;
    if (past + T > spec_.max_position_embeddings)
      throw Error("gpt2: positions up to " + std::to_string(past + T) +
                  " exceed n_positions " + std::to_string(spec_.max_position_embeddings));
    torch::Tensor x = embeds + wpe_.narrow(0, past, T);  // [B, T, d]
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Gpt2Block& b = *blocks_[i];
      record(x);
      torch::Tensor qkv = conv1d(layers::layer_norm(x, b.ln1_w, b.ln1_b, eps), b.c_attn_w,
                                 b.c_attn_b);                            // [B, T, 3d]
      auto heads = [&](int64_t j) {                                      // -> [B, h, T, hd]
        return qkv.narrow(-1, j * d, d).view({B, T, h, hd}).transpose(1, 2);
      };
      auto [k, v] = layers::cache_append(cache, i, heads(1), heads(2));
      torch::Tensor a = layers::attention(heads(0), k, v, past, attention_);     // [B, h, T, hd]
      a = a.transpose(1, 2).reshape({B, T, d});
      x = x + conv1d(a, b.attn_proj_w, b.attn_proj_b);
      torch::Tensor m = conv1d(layers::layer_norm(x, b.ln2_w, b.ln2_b, eps), b.c_fc_w, b.c_fc_b);
      x = x + conv1d(layers::activate(m, act_), b.mlp_proj_w, b.mlp_proj_b);
    }
    return record(layers::layer_norm(x, ln_f_w_, ln_f_b_, eps));
  }

  layers::Activation act_;
  torch::Tensor wpe_, ln_f_w_, ln_f_b_;  // wpe [P, d]
  std::vector<std::shared_ptr<Gpt2Block>> blocks_;
};

}  // namespace

const Family& gpt2_family() {
  static const Family family = [] {
    Family f;
    f.model_type = "gpt2";
    f.hf_class = "GPT2LMHeadModel";
    f.hidden_field = "n_embd";
    f.heads_field = "n_head";
    f.layers_field = "n_layer";
    f.ffn_field = "n_inner";
    f.positions_field = "n_positions";
    f.rotary = false;
    f.read = read_config;
    f.write = write_config;
    f.make_defaults = make_defaults;
    f.base_prefix = "transformer.";
    f.ignored = {"transformer.h.{}.attn.bias", "transformer.h.{}.attn.masked_bias"};
    f.head = "lm_head.weight";
    f.build = [](const ModelSpec& s, const torch::TensorOptions& o) -> std::shared_ptr<CausalLM> {
      return std::make_shared<Gpt2>(s, o);
    };
    return f;
  }();
  return family;
}

}  // namespace crammer
