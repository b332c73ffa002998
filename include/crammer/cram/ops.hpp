// Tensor-level pieces of the cramming engine (DESIGN §1, §2, §4), implemented in ops.cpp: mem
// init, AdamW on [B, k, d], the chunked LM-head/CE/argmax step with its hand-written gradient,
// baselines and greedy decode. The batch loop (engine.hpp) builds on these; tests and the
// benchmark call them directly. Not for: one batched run (engine.hpp), task grouping or
// capacity search (cram/cram.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "crammer/config/experiment_config.hpp"

namespace crammer {

class CausalLM;

// Seed of a task's mem init: a hash of the task key and the run seed only, so a sample's
// result does not depend on the batch or rank it landed in.
uint64_t mem_seed(const std::string& task_key, uint64_t run_seed);

// mem [k, d] f32 on CPU: N(0, 1) * init_std from a CPU generator seeded with mem_seed().
torch::Tensor init_mem(const std::string& task_key, uint64_t run_seed, int64_t k, int64_t d,
                       double init_std);

// A host vector as a 1-D tensor on `device` (int64 / f32), copied.
torch::Tensor to_device(const std::vector<int64_t>& values, torch::Device device);
torch::Tensor to_device(const std::vector<float>& values, torch::Device device);

// AdamW as torch.optim.AdamW (decoupled weight decay, bias correction), elementwise on a
// [B, k, d] f32 parameter. Every sample of a batch starts together, so one step count serves.
// A sample that carries an earlier run's state (a progressive search's cram.carry_optimizer)
// has `carried[b]` updates behind it: its update t counts as carried[b] + t for bias correction
// and the learning-rate schedule. Empty `carried`: every sample starts fresh.
struct AdamWState {
  torch::Tensor m;  // [B, k, d] f32, first moment
  torch::Tensor v;  // [B, k, d] f32, second moment
  int64_t step = 0;
  std::vector<int64_t> carried;  // [B] or empty
  // Keeps rows `keep` ([B'] int64) of the moments: finished samples leave the batch.
  void keep(const torch::Tensor& keep_index);
  // Updates behind sample b's parameter now.
  int64_t updates(int64_t b) const { return step + (carried.empty() ? 0 : carried.at(static_cast<size_t>(b))); }
};
AdamWState adamw_init(const torch::Tensor& param);
// param <- AdamW(param, grad), in place (no autograd).
void adamw_step(torch::Tensor& param, const torch::Tensor& grad, AdamWState& state,
                const OptimizerConfig& opt);

// The scored positions of a batch, flattened over [B, T]: row r is hidden position
// `rows[r]` (= b * T + t) and must predict `targets[r]`; `weights[r]` = 1 / n_targets(b).
struct HeadTargets {
  int64_t batch = 0;       // B
  int64_t seq = 0;         // T
  torch::Tensor rows;      // [R] int64
  torch::Tensor targets;   // [R] int64
  torch::Tensor sample;    // [R] int64, b of each row
  torch::Tensor weights;   // [R] f32
  // The weights of the gradient when they differ from `weights` (cram.loss.first_tokens):
  // the reported loss stays the plain mean CE. Undefined: `weights`.
  torch::Tensor grad_weights;  // [R] f32
};

// Per-sample mean CE and correct-argmax counts; with want_grad also d(sum_b loss_b)/d hidden.
struct HeadOutput {
  torch::Tensor loss;         // [B] f32, mean CE over each sample's targets
  torch::Tensor correct;      // [B] int64
  torch::Tensor grad_hidden;  // [B, T, d] in hidden's dtype; undefined unless want_grad
  torch::Tensor gain_bound;   // [B] f32, sum of argmax_gain over the targets; undefined unless want_bound
};

// The smallest rise in log p(target) that makes the target the argmax, per row of `probs`
// ([R, V] f32 softmax; `target` [R, 1] int64; `log_p` [R] its log probability, exact where p
// underflows): mass moves from the likeliest other tokens to the target until it leads
// (water-filling: p' = max_k (p + s_1 + .. + s_k) / (k + 1) over the others sorted s_1 >= s_2..),
// gain = log p' - log p; 0 where the target already leads. The paper's lower bound on the
// information a [mem] vector must add (text_compression_upper_bound). [R] f32.
torch::Tensor argmax_gain(const torch::Tensor& probs, const torch::Tensor& target, const torch::Tensor& log_p);

// LM head, CE and argmax over `chunk` rows at a time, so at most [chunk, V] f32 logits exist:
// the gradient of each chunk, (softmax - onehot) * weight @ W_head, is formed under no-grad.
HeadOutput chunked_head(CausalLM& model, const torch::Tensor& hidden, const HeadTargets& targets,
                        int64_t chunk, bool want_grad, bool want_bound = false);

// Builds HeadTargets for texts right-padded into a sequence of length T, where text b's
// targets sit at positions first[b] .. first[b] + targets[b].size() - 1. With first_tokens > 0
// and first_weight != 1, the gradient weighs each text's first first_tokens targets
// first_weight (grad_weights).
HeadTargets make_head_targets(const std::vector<std::vector<int64_t>>& targets,
                              const std::vector<int64_t>& first, int64_t T, torch::Device device,
                              int64_t first_tokens = 0, double first_weight = 1.0);

// Baseline (no memory) of each text: mean CE and correct count over the same targets that
// cramming scores. With predict_first_token the first target t_1 is predicted from the
// model's BOS token (else its EOS token) placed before the text; a model with neither scores
// t_1 as a uniform guess (CE ln V, never correct).
struct Baseline {
  double loss = 0;
  int64_t correct = 0;
  double gain_bound_nats = 0;  // argmax_gain summed over the scored targets (t_1 as a guess: 0)
};
std::vector<Baseline> compute_baselines(CausalLM& model,
                                        const std::vector<std::vector<int32_t>>& texts,
                                        bool predict_first_token, int64_t chunk,
                                        const std::vector<std::vector<int32_t>>& contexts = {});

// Greedy generation with the KV-cached forward from mem [B, k, d] and the context (`contexts`:
// empty, or one per text, all of one length) alone (plus t_1 when predict_first_token is off:
// t_1 is then input, not crammed), each sample as many tokens as
// it has targets, every step fed its own prediction. Per sample: how many targets (t_1.. or
// t_2..) came out right before the first mistake, how many came out right in all, and the
// generated tokens themselves.
struct GreedyDecode {
  std::vector<int32_t> prefix;
  std::vector<int32_t> matches;
  std::vector<std::vector<int32_t>> tokens;
};
GreedyDecode greedy_decode(CausalLM& model, const torch::Tensor& mem, const std::vector<std::vector<int32_t>>& texts,
                           bool predict_first_token, const std::vector<std::vector<int32_t>>& contexts = {});

}  // namespace crammer
