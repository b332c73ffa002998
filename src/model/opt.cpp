// OPT (transformers' modeling_opt.py; opt-125m..opt-66b, the paper's OPT-1.3B): learned
// positions looked up at position + 2, separate q/k/v/out projections and an fc1/fc2 MLP (ReLU)
// with biases, LayerNorm before each block (or after each residual add and no final norm when
// do_layer_norm_before is false, as opt-350m), a final LayerNorm, and an LM head tied to the
// token embeddings. When word_embed_proj_dim differs from hidden_size (opt-350m) the token
// embeddings, the [mem] vectors and the head live in word_embed_proj_dim: project_in maps
// inputs_embeds into the decoder, project_out maps its output back.
#include "crammer/util/error.hpp"
#include "family.hpp"
#include "family_fields.hpp"
#include "layers.hpp"
#include "token_lm.hpp"

namespace crammer {
namespace {

constexpr int64_t kPositionOffset = 2;  // OPTLearnedPositionalEmbedding's, from fairseq

// OPTConfig's own switches (the defaults: opt-125m..1.3b).
struct OptFields : FamilyFields {
  bool do_layer_norm_before = true;  // false (opt-350m): norm after each residual add, no final norm
  bool enable_bias = true;           // every linear layer's bias
  bool layer_norm_elementwise_affine = true;  // false: LayerNorms without gain or bias
};

void read_config(const ConfigFields& f, ModelSpec& s) {
  s.hidden_size = f.integer("hidden_size");
  s.num_layers = f.integer("num_hidden_layers");
  s.num_heads = f.integer("num_attention_heads");
  s.num_kv_heads = s.num_heads;
  s.intermediate_size = f.integer("ffn_dim");
  s.max_position_embeddings = f.integer("max_position_embeddings");
  s.norm_eps = 1e-5;  // nn.LayerNorm's default: OPTConfig has no epsilon field
  s.hidden_act = f.string("activation_function", "relu");
  check_activation(f, "activation_function", s.hidden_act);
  s.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  s.embedding_width = f.integer("word_embed_proj_dim", s.hidden_size);  // null: hidden_size
  if (s.embedding_width <= 0)
    f.fail("word_embed_proj_dim", "must be > 0, got " + std::to_string(s.embedding_width));
  if (f.boolean("_remove_final_layer_norm", false))
    f.fail("_remove_final_layer_norm", "true is not supported (no released OPT checkpoint sets it)");
  auto& c = own_fields<OptFields>(s);
  c.do_layer_norm_before = f.boolean("do_layer_norm_before", true);
  c.enable_bias = f.boolean("enable_bias", true);
  c.layer_norm_elementwise_affine = f.boolean("layer_norm_elementwise_affine", true);
  if (s.num_heads > 0) s.head_dim = s.hidden_size / s.num_heads;
}

void write_config(const ModelSpec& s, json& j) {
  j["hidden_size"] = s.hidden_size;
  j["num_hidden_layers"] = s.num_layers;
  j["num_attention_heads"] = s.num_heads;
  j["ffn_dim"] = s.intermediate_size;
  j["max_position_embeddings"] = s.max_position_embeddings;
  j["word_embed_proj_dim"] = embedding_dim(s);
  const auto& c = fields_of<OptFields>(s);
  j["do_layer_norm_before"] = c.do_layer_norm_before;
  j["enable_bias"] = c.enable_bias;
  j["layer_norm_elementwise_affine"] = c.layer_norm_elementwise_affine;
  j["activation_function"] = s.hidden_act.empty() ? "relu" : s.hidden_act;
  j["init_std"] = 0.02;
}

// make-model: OPT's own defaults (4d ReLU MLP, biases, pre-norm, head tied unless told otherwise).
void make_defaults(const MakeModelOptions& o, ModelSpec& s, void (*fail)(const std::string&)) {
  if (s.num_kv_heads != s.num_heads) fail("--kv-heads differs from --heads: " + o.arch + " has no grouped key/value heads");
  s.intermediate_size = o.intermediate_size > 0 ? o.intermediate_size : 4 * o.d_model;
  s.hidden_act = "relu";
  s.tie_word_embeddings = o.tie_word_embeddings.value_or(true);
  s.embedding_width = o.word_embed_proj_dim > 0 ? o.word_embed_proj_dim : o.d_model;
}

using layers::param;
using Init = HfParam::Init;

struct OptLayer : torch::nn::Module {
  torch::Tensor attn_ln_w, attn_ln_b, q_w, q_b, k_w, k_b, v_w, v_b, out_w, out_b;
  torch::Tensor mlp_ln_w, mlp_ln_b, fc1_w, fc1_b, fc2_w, fc2_b;

  OptLayer(const ModelSpec& s, const OptFields& c, const torch::TensorOptions& o) {
    const int64_t d = s.hidden_size, f = s.intermediate_size;
    if (c.layer_norm_elementwise_affine) {
      attn_ln_w = param(*this, "attn_ln_w", {d}, o);
      attn_ln_b = param(*this, "attn_ln_b", {d}, o);
      mlp_ln_w = param(*this, "mlp_ln_w", {d}, o);
      mlp_ln_b = param(*this, "mlp_ln_b", {d}, o);
    }
    q_w = param(*this, "q_w", {d, d}, o);
    k_w = param(*this, "k_w", {d, d}, o);
    v_w = param(*this, "v_w", {d, d}, o);
    out_w = param(*this, "out_w", {d, d}, o);
    fc1_w = param(*this, "fc1_w", {f, d}, o);
    fc2_w = param(*this, "fc2_w", {d, f}, o);
    if (c.enable_bias) {
      q_b = param(*this, "q_b", {d}, o);
      k_b = param(*this, "k_b", {d}, o);
      v_b = param(*this, "v_b", {d}, o);
      out_b = param(*this, "out_b", {d}, o);
      fc1_b = param(*this, "fc1_b", {f}, o);
      fc2_b = param(*this, "fc2_b", {d}, o);
    }
  }
};

class Opt : public TokenLM {
 public:
  Opt(const ModelSpec& s, const torch::TensorOptions& o)
      : TokenLM(s), c_(fields_of<OptFields>(spec_)), act_(layers::activation_from_name(s.hidden_act)) {
    const int64_t d = s.hidden_size, e = embedding_dim(s);
    tokens_ = param(*this, "embed_tokens", {s.vocab_size, e}, o);
    embed_positions_ = param(*this, "embed_positions", {s.max_position_embeddings + kPositionOffset, d}, o);
    if (e != d) {
      project_in_ = param(*this, "project_in", {d, e}, o);
      project_out_ = param(*this, "project_out", {e, d}, o);
    }
    for (int64_t i = 0; i < s.num_layers; ++i)
      layers_.push_back(register_module("layer_" + std::to_string(i), std::make_shared<OptLayer>(s, c_, o)));
    if (c_.do_layer_norm_before && c_.layer_norm_elementwise_affine) {
      final_ln_w_ = param(*this, "final_ln_w", {d}, o);
      final_ln_b_ = param(*this, "final_ln_b", {d}, o);
    }
    if (!s.tie_word_embeddings) head_ = param(*this, "lm_head", {s.vocab_size, e}, o);
  }


  std::vector<HfParam> hf_params() override {
    std::vector<HfParam> t = {{"model.decoder.embed_tokens.weight", tokens_},
                              {"model.decoder.embed_positions.weight", embed_positions_}};
    if (project_in_.defined()) {
      t.push_back({"model.decoder.project_in.weight", project_in_});
      t.push_back({"model.decoder.project_out.weight", project_out_});
    }
    for (size_t i = 0; i < layers_.size(); ++i) {
      OptLayer& l = *layers_[i];
      layers::add_layer(t, int64_t(i), {
          {"model.decoder.layers.{}.self_attn_layer_norm.weight", l.attn_ln_w, Init::ones},
          {"model.decoder.layers.{}.self_attn_layer_norm.bias", l.attn_ln_b, Init::zeros},
          {"model.decoder.layers.{}.self_attn.q_proj.weight", l.q_w},
          {"model.decoder.layers.{}.self_attn.q_proj.bias", l.q_b, Init::zeros},
          {"model.decoder.layers.{}.self_attn.k_proj.weight", l.k_w},
          {"model.decoder.layers.{}.self_attn.k_proj.bias", l.k_b, Init::zeros},
          {"model.decoder.layers.{}.self_attn.v_proj.weight", l.v_w},
          {"model.decoder.layers.{}.self_attn.v_proj.bias", l.v_b, Init::zeros},
          {"model.decoder.layers.{}.self_attn.out_proj.weight", l.out_w},
          {"model.decoder.layers.{}.self_attn.out_proj.bias", l.out_b, Init::zeros},
          {"model.decoder.layers.{}.final_layer_norm.weight", l.mlp_ln_w, Init::ones},
          {"model.decoder.layers.{}.final_layer_norm.bias", l.mlp_ln_b, Init::zeros},
          {"model.decoder.layers.{}.fc1.weight", l.fc1_w},
          {"model.decoder.layers.{}.fc1.bias", l.fc1_b, Init::zeros},
          {"model.decoder.layers.{}.fc2.weight", l.fc2_w},
          {"model.decoder.layers.{}.fc2.bias", l.fc2_b, Init::zeros},
      });
    }
    if (final_ln_w_.defined()) {
      t.push_back({"model.decoder.final_layer_norm.weight", final_ln_w_, Init::ones});
      t.push_back({"model.decoder.final_layer_norm.bias", final_ln_b_, Init::zeros});
    }
    if (head_.defined()) t.push_back({"lm_head.weight", head_});
    return t;
  }

 private:
  // inputs_embeds [B, T, e] at positions past..past+T-1 -> final hidden [B, T, e].
  torch::Tensor run(const torch::Tensor& embeds, KVCache* cache) override {
    const int64_t B = embeds.size(0), T = embeds.size(1), d = spec_.hidden_size;
    const int64_t h = spec_.num_heads, hd = spec_.head_dim, past = cache ? cache->length() : 0;
    const double eps = spec_.norm_eps;
    const bool pre = c_.do_layer_norm_before;
    if (past + T > spec_.max_position_embeddings)
      throw Error("opt: positions up to " + std::to_string(past + T) + " exceed max_position_embeddings " +
                  std::to_string(spec_.max_position_embeddings));
    auto norm = [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
      return layers::layer_norm(x, w, b, eps);  // w, b undefined: layer_norm_elementwise_affine false
    };
    torch::Tensor x = project_in_.defined() ? layers::linear(embeds, project_in_) : embeds;
    x = x + embed_positions_.narrow(0, past + kPositionOffset, T);  // [B, T, d]
    for (size_t i = 0; i < layers_.size(); ++i) {
      OptLayer& l = *layers_[i];
      record(x);
      torch::Tensor y = pre ? norm(x, l.attn_ln_w, l.attn_ln_b) : x;
      auto heads = [&](const torch::Tensor& w, const torch::Tensor& b) {  // -> [B, h, T, hd]
        return layers::linear(y, w, b).view({B, T, h, hd}).transpose(1, 2);
      };
      auto [k, v] = layers::cache_append(cache, i, heads(l.k_w, l.k_b), heads(l.v_w, l.v_b));
      torch::Tensor a = layers::attention(heads(l.q_w, l.q_b), k, v, past, attention_);
      x = x + layers::linear(a.transpose(1, 2).reshape({B, T, d}), l.out_w, l.out_b);
      if (!pre) x = norm(x, l.attn_ln_w, l.attn_ln_b);
      y = pre ? norm(x, l.mlp_ln_w, l.mlp_ln_b) : x;
      x = x + layers::linear(layers::activate(layers::linear(y, l.fc1_w, l.fc1_b), act_), l.fc2_w, l.fc2_b);
      if (!pre) x = norm(x, l.mlp_ln_w, l.mlp_ln_b);
    }
    if (pre) x = norm(x, final_ln_w_, final_ln_b_);
    return record(project_out_.defined() ? layers::linear(x, project_out_) : x);
  }

  const OptFields& c_;  // spec_'s
  layers::Activation act_;
  torch::Tensor embed_positions_, project_in_, project_out_;  // [P + 2, d], [d, e], [e, d]
  torch::Tensor final_ln_w_, final_ln_b_;
  std::vector<std::shared_ptr<OptLayer>> layers_;
};

}  // namespace

const Family& opt_family() {
  static const Family family = [] {
    Family f;
    f.model_type = "opt";
    f.hf_class = "OPTForCausalLM";
    f.ffn_field = "ffn_dim";
    f.rotary = false;
    f.read = read_config;
    f.write = write_config;
    f.make_defaults = make_defaults;
    f.options = {"word-embed-proj-dim"};
    f.base_prefix = "model.";
    f.head = "lm_head.weight";
    f.build = [](const ModelSpec& s, const torch::TensorOptions& o) -> std::shared_ptr<CausalLM> {
      return std::make_shared<Opt>(s, o);
    };
    return f;
  }();
  return family;
}

}  // namespace crammer
