// A frozen decoder-only causal LM, as crammer needs it: token embeddings in, final hidden
// states out (after the final norm), LM head applied separately so callers can chunk it, and
// an incremental KV-cached forward for greedy decoding. One implementation file per
// architecture (gpt2.cpp, gpt_neox.cpp, llama.cpp) following Hugging Face transformers.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "crammer/model/hf_config.hpp"
#include "crammer/model/attention.hpp"

namespace crammer {

// What forward_cached carries from one call to the next. Attention layers: keys and values of
// every layer, [B, kv_heads, T_cached, head_dim]. State-space layers (mamba) instead: per layer
// the causal conv's last conv_kernel - 1 inputs [B, E, K-1] and the recurrent state [B, E, N],
// with the count of positions consumed.
struct KVCache {
  std::vector<torch::Tensor> k;
  std::vector<torch::Tensor> v;
  std::vector<torch::Tensor> conv, ssm;
  int64_t state_tokens = 0;
  int64_t length() const {
    if (!ssm.empty()) return state_tokens;
    return k.empty() || !k[0].defined() ? 0 : k[0].size(2);
  }
};

// One parameter under its Hugging Face checkpoint name, with how HF initialises it.
struct HfParam {
  enum class Init { normal, ones, zeros, custom };
  using Fill = std::function<void(torch::Tensor&, at::Generator&)>;
  HfParam() = default;
  HfParam(std::string n, torch::Tensor t, Init i = Init::normal, double scale = 1.0, Fill f = {})
      : name(std::move(n)), tensor(std::move(t)), init(i), std_scale(scale), fill(std::move(f)) {}

  std::string name;      // e.g. "model.layers.3.self_attn.q_proj.weight"
  torch::Tensor tensor;  // the registered parameter (same storage)
  Init init = Init::normal;
  double std_scale = 1.0;  // normal init: std = initializer_range * std_scale (GPT-2 c_proj)
  // Init::custom: the family's own initialiser (mamba's A_log, dt_proj, conv), drawing from gen.
  Fill fill;
};

class CausalLM : public torch::nn::Module {
 public:
  explicit CausalLM(ModelSpec spec) : spec_(std::move(spec)) {}
  const ModelSpec& spec() const { return spec_; }

  // ids [B, T] int64 -> token embeddings [B, T, d] in the compute dtype.
  virtual torch::Tensor embed(const torch::Tensor& ids) = 0;
  // The input embedding matrix [V, d] (mem init uses its std).
  virtual torch::Tensor embedding_weight() = 0;
  // The LM head matrix [V, d] (== embedding_weight() when tied).
  virtual torch::Tensor head_weight() = 0;
  // inputs_embeds [B, T, d] at positions 0..T-1 -> final hidden states [B, T, d].
  // Plain causal attention: no padding mask (callers right-pad, so no real token sees a pad).
  virtual torch::Tensor forward(const torch::Tensor& embeds) = 0;
  // Hugging Face's output_hidden_states: the input of every layer, then the final hidden
  // states (after the final norm), n_layers + 1 tensors [B, T, d] in the graph of `embeds`.
  std::vector<torch::Tensor> forward_states(const torch::Tensor& embeds);
  // Same, continuing at positions cache.length().. and appending to the cache.
  virtual torch::Tensor forward_cached(const torch::Tensor& embeds, KVCache& cache) = 0;
  // hidden [..., d] -> logits [..., V] in f32 (the caller chunks over positions): hidden @
  // head_weight()^T, soft-capped when final_logit_softcap() > 0.
  virtual torch::Tensor lm_head(const torch::Tensor& hidden);
  // gemma2 (and gemma3 when set): logits become c * tanh(logits / c); 0 = not capped. Every
  // head that scores logits itself (the cramming loss, pretraining) applies it too.
  virtual double final_logit_softcap() const { return 0; }

  // Stops gradients to all weights (cramming); pretraining leaves them trainable.
  void freeze();

  // The attention implementation of every layer (default: auto, the measured choice per
  // device).
  void set_attention_kernel(AttentionKernel kernel);
  AttentionKernel attention_kernel() const { return attention_; }

  // The architecture's literal name table expanded over the layers: every parameter once, under
  // its full HF name (with the base-model prefix); a tied head is not listed.
  virtual std::vector<HfParam> hf_params() = 0;

 protected:
  // Each family passes the input of every layer and its final hidden states through this, so
  // forward_states can collect them.
  const torch::Tensor& record(const torch::Tensor& x) {
    if (states_) states_->push_back(x);
    return x;
  }

  ModelSpec spec_;
  AttentionKernel attention_ = AttentionKernel::automatic;

 private:
  std::vector<torch::Tensor>* states_ = nullptr;  // set during forward_states only
};

// c * tanh(x / c) for c > 0 (the logit soft-cap); x itself otherwise.
torch::Tensor soft_cap(const torch::Tensor& x, double c);

// Builds the architecture named by spec.model_type with random weights (HF init: normal with
// std initializer_range, norms at 1/0, biases 0), on CPU in f32. Deterministic in seed.
std::shared_ptr<CausalLM> make_random_model(const ModelSpec& spec, uint64_t seed,
                                            double initializer_range = 0.02);

// Loads DIR (config.json + safetensors) into a frozen model of the given compute dtype and
// device. A missing or unused checkpoint tensor is a ModelLoadError listing the names.
std::shared_ptr<CausalLM> load_model(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                                     torch::Device device = torch::kCPU);

// Hugging Face tensor names -> this model's parameters, for saving a checkpoint (make-model,
// pretrain). Tied heads are written once, as HF does.
std::map<std::string, torch::Tensor> export_hf_weights(CausalLM& model);

}  // namespace crammer
