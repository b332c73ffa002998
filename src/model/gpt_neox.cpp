// GPT-NeoX / Pythia (transformers' modeling_gpt_neox.py): fused query_key_value whose output is
// laid out [heads, 3, head_dim] (q, k, v interleaved per head), rotary on the first
// rotary_pct * head_dim features with base rotary_emb_base, parallel or sequential residual
// (use_parallel_residual), final_layer_norm and an embed_out head; linear/llama3 rope scaling.
#include <cmath>

#include "family.hpp"
#include "family_fields.hpp"
#include "layers.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

// GPTNeoXConfig's own switches (the defaults: Pythia's).
struct NeoxFields : FamilyFields {
  bool use_parallel_residual = true;  // x + attn(ln1(x)) + mlp(ln2(x)); false: sequential as GPT-2
  bool attention_bias = true;         // query_key_value and dense biases
};

// config.json: the fields of this family (hf_config.cpp reads the shared ones).
void read_config(const ConfigFields& f, ModelSpec& s) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = s.num_heads;
  s.intermediate_size = f.integer("intermediate_size");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = f.number("layer_norm_eps", 1e-5);
  s.hidden_act = f.string("hidden_act", "gelu");
  check_activation(f, "hidden_act", s.hidden_act);
  read_rope(f, s, /*neox=*/true);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  auto& c = own_fields<NeoxFields>(s);
  c.use_parallel_residual = f.boolean("use_parallel_residual", true);
  c.attention_bias = f.boolean("attention_bias", true);
  if (s.num_heads > 0) s.head_dim = s.hidden_size / s.num_heads;
}

void write_config(const ModelSpec& s, json& j) {
  j["hidden_size"] = s.hidden_size;
  j["num_hidden_layers"] = s.num_layers;
  j["num_attention_heads"] = s.num_heads;
  j["intermediate_size"] = s.intermediate_size;
  j["max_position_embeddings"] = s.max_position_embeddings;
  j["rotary_pct"] = s.rotary_pct;
  j["rotary_emb_base"] = s.rope_theta;
  j["layer_norm_eps"] = s.norm_eps;
  const auto& c = fields_of<NeoxFields>(s);
  j["use_parallel_residual"] = c.use_parallel_residual;
  j["hidden_act"] = s.hidden_act.empty() ? "gelu" : s.hidden_act;
  j["attention_bias"] = c.attention_bias;
  j["rope_scaling"] = rope_scaling_json(s.rope_scaling);
}

// make-model: Pythia's defaults (4d MLP, gelu, --rotary-pct of each head rotated, untied).
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  if (s.num_kv_heads != s.num_heads) fail("--kv-heads differs from --heads: " + o.arch + " has no grouped key/value heads");
  s.intermediate_size = o.intermediate_size > 0 ? o.intermediate_size : 4 * o.d_model;
  s.hidden_act = "gelu";
  s.rotary_pct = o.rotary_pct;
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(false);
  const int64_t rot = int64_t(double(s.head_dim) * s.rotary_pct);
  if (rot <= 0 || rot % 2 != 0)
    fail("rotary_pct " + std::to_string(s.rotary_pct) + " * head_dim " + std::to_string(s.head_dim) + " = " +
         std::to_string(rot) + " rotary dims; must be even and > 0");
}

using layers::param;
using Init = HfParam::Init;

struct NeoxBlock : torch::nn::Module {
  torch::Tensor ln1_w, ln1_b, ln2_w, ln2_b, qkv_w, qkv_b, dense_w, dense_b;
  torch::Tensor up_w, up_b, down_w, down_b;

  NeoxBlock(const ModelSpec& s, const NeoxFields& c, const torch::TensorOptions& o) {
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    ln1_w = param(*this, "ln1_w", {d}, o);
    ln1_b = param(*this, "ln1_b", {d}, o);
    ln2_w = param(*this, "ln2_w", {d}, o);
    ln2_b = param(*this, "ln2_b", {d}, o);
    qkv_w = param(*this, "qkv_w", {3 * d, d}, o);
    dense_w = param(*this, "dense_w", {d, d}, o);
    if (c.attention_bias) {
      qkv_b = param(*this, "qkv_b", {3 * d}, o);
      dense_b = param(*this, "dense_b", {d}, o);
    }
    up_w = param(*this, "up_w", {f, d}, o);
    up_b = param(*this, "up_b", {f}, o);
    down_w = param(*this, "down_w", {d, f}, o);
    down_b = param(*this, "down_b", {d}, o);
  }
};

class GptNeox : public TokenLM {
 public:
  GptNeox(const ModelSpec& s, const torch::TensorOptions& o)
      : TokenLM(s),
        c_(fields_of<NeoxFields>(spec_)),
        act_(layers::activation_from_name(s.hidden_act)),
        rotary_(layers::make_rotary(int64_t(double(s.head_dim) * s.rotary_pct), s.rope_theta,
                                    s.rope_scaling)) {
    const int64_t d = s.hidden_size;
    tokens_ = param(*this, "embed_in", {s.vocab_size, d}, o);
    for (int64_t i = 0; i < s.num_layers; ++i)
      blocks_.push_back(
          register_module("layers_" + std::to_string(i), std::make_shared<NeoxBlock>(s, c_, o)));
    final_w_ = param(*this, "final_ln_w", {d}, o);
    final_b_ = param(*this, "final_ln_b", {d}, o);
    if (!s.tie_word_embeddings) head_ = param(*this, "embed_out", {s.vocab_size, d}, o);
  }


  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"gpt_neox.embed_in.weight", tokens_}};
    for (size_t i = 0; i < blocks_.size(); ++i) {
      NeoxBlock& b = *blocks_[i];
      layers::add_layer(t, int64_t(i), {
          {"gpt_neox.layers.{}.input_layernorm.weight", b.ln1_w, Init::ones},
          {"gpt_neox.layers.{}.input_layernorm.bias", b.ln1_b, Init::zeros},
          {"gpt_neox.layers.{}.post_attention_layernorm.weight", b.ln2_w, Init::ones},
          {"gpt_neox.layers.{}.post_attention_layernorm.bias", b.ln2_b, Init::zeros},
          {"gpt_neox.layers.{}.attention.query_key_value.weight", b.qkv_w},
          {"gpt_neox.layers.{}.attention.query_key_value.bias", b.qkv_b, Init::zeros},
          {"gpt_neox.layers.{}.attention.dense.weight", b.dense_w},
          {"gpt_neox.layers.{}.attention.dense.bias", b.dense_b, Init::zeros},
          {"gpt_neox.layers.{}.mlp.dense_h_to_4h.weight", b.up_w},
          {"gpt_neox.layers.{}.mlp.dense_h_to_4h.bias", b.up_b, Init::zeros},
          {"gpt_neox.layers.{}.mlp.dense_4h_to_h.weight", b.down_w},
          {"gpt_neox.layers.{}.mlp.dense_4h_to_h.bias", b.down_b, Init::zeros},
      });
    }
    t.push_back({"gpt_neox.final_layer_norm.weight", final_w_, Init::ones});
    t.push_back({"gpt_neox.final_layer_norm.bias", final_b_, Init::zeros});
    if (head_.defined()) t.push_back({"embed_out.weight", head_});
    return t;
  }

 private:
  // x [B, T, d] at positions past..past+T-1 -> final hidden [B, T, d].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const int64_t B = embeds.size(0), T = embeds.size(1), d = spec_.hidden_size;
    const int64_t h = spec_.num_heads, hd = spec_.head_dim, past = cache ? cache->length() : 0;
    const double eps = spec_.norm_eps;
    auto [cos, sin] = layers::rotary_cos_sin(rotary_, past, T, embeds.scalar_type(),
                                             embeds.device());  // [T, rot]
    torch::Tensor x = embeds;  // [B, T, d]
    for (size_t i = 0; i < blocks_.size(); ++i) {
      NeoxBlock& b = *blocks_[i];
      record(x);
      torch::Tensor qkv = layers::linear(layers::layer_norm(x, b.ln1_w, b.ln1_b, eps), b.qkv_w,
                                         b.qkv_b)
                              .view({B, T, h, 3 * hd});  // per head: q | k | v
      auto part = [&](int64_t j) {                       // -> [B, h, T, hd]
        return qkv.narrow(-1, j * hd, hd).transpose(1, 2);
      };
      torch::Tensor q = layers::apply_rotary(part(0), cos, sin);
      auto [k, v] = layers::cache_append(cache, i, layers::apply_rotary(part(1), cos, sin), part(2));
      torch::Tensor a = layers::attention(q, k, v, past, attention_).transpose(1, 2).reshape({B, T, d});
      a = layers::linear(a, b.dense_w, b.dense_b);
      auto mlp = [&](const torch::Tensor& y) {
        torch::Tensor u = layers::linear(layers::layer_norm(y, b.ln2_w, b.ln2_b, eps), b.up_w,
                                         b.up_b);
        return layers::linear(layers::activate(u, act_), b.down_w, b.down_b);
      };
      if (c_.use_parallel_residual) {
        x = x + a + mlp(x);  // x + attn(ln1(x)) + mlp(ln2(x))
      } else {
        x = x + a;           // sequential, like GPT-2
        x = x + mlp(x);
      }
    }
    return record(layers::layer_norm(x, final_w_, final_b_, eps));
  }

  const NeoxFields& c_;  // spec_'s
  layers::Activation act_;
  layers::Rotary rotary_;
  torch::Tensor final_w_, final_b_;
  std::vector<std::shared_ptr<NeoxBlock>> blocks_;
};

}  // namespace

const Family& gpt_neox_family() {
  static const Family family = [] {
    Family f;
    f.model_type = "gpt_neox";
    f.hf_class = "GPTNeoXForCausalLM";
    f.read = read_config;
    f.write = write_config;
    f.make_defaults = make_defaults;
    f.base_prefix = "gpt_neox.";
    f.ignored = {"gpt_neox.layers.{}.attention.bias", "gpt_neox.layers.{}.attention.masked_bias", "gpt_neox.layers.{}.attention.rotary_emb.inv_freq"};
    f.head = "embed_out.weight";
    f.build = [](const ModelSpec& s, const torch::TensorOptions& o) -> std::shared_ptr<CausalLM> {
      return std::make_shared<GptNeox>(s, o);
    };
    return f;
  }();
  return family;
}

}  // namespace crammer
