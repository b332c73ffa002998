// Cramming throughput of one batch of texts that never stop early, and the FLOP count of a
// step (docs/bench/cram.md): shared by cram_bench (CPU figures) and gpu_cram_bench (the GPU
// side by side of bench/gpu/run.sh).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "crammer/cram/engine.hpp"
#include "crammer/model/attention.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer::bench {

using Clock = std::chrono::steady_clock;
inline double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Weight matrices of one MLP block: gated (gate, up, down) or plain (up, down).
inline double mlp_matrices(const ModelSpec& s) {
  if (s.model_type == "mamba") throw std::invalid_argument("step_flops: no FLOP count for mamba");
  return (s.model_type == "gpt2" || s.model_type == "gpt_neox" || s.model_type == "opt") ? 2 : 3;
}

// FLOPs of one cramming step (2 FLOPs per MAC): forward + input-gradient backward, no weight
// gradients (frozen). Per layer and token the linear maps cost `lin` MACs forward and `lin`
// backward; attention computes the full T x T score matrix: 2 T^2 d_attn MACs forward (QK^T,
// PV) and 4 T^2 d_attn backward (dP, dV, dQ, dK); the head costs V d per scored row forward
// (logits) and V d backward ((softmax - onehot) W).
inline double step_flops(const ModelSpec& s, int64_t B, int64_t T, int64_t rows_per_sample) {
  const double d = static_cast<double>(s.hidden_size);
  const double attn = static_cast<double>(s.num_heads * s.head_dim);
  const double kv = static_cast<double>(s.num_kv_heads * s.head_dim);
  const double lin = d * attn + 2 * d * kv + attn * d + mlp_matrices(s) * d * static_cast<double>(s.intermediate_size);
  const double Bd = static_cast<double>(B), Td = static_cast<double>(T);
  const double layers = static_cast<double>(s.num_layers);
  const double macs = 2 * Bd * Td * layers * lin + 6 * layers * Bd * Td * Td * attn +
                      2 * Bd * static_cast<double>(rows_per_sample) * static_cast<double>(s.vocab_size) * d;
  return 2 * macs;
}

struct Throughput {
  double step_seconds = 0;
  int64_t steps = 0;
  double sample_steps = 0, token_steps = 0, flops_per_s = 0;
};

struct MeasureOptions {
  AttentionKernel kernel = AttentionKernel::automatic;
  int64_t micro_batch = 0;   // CramSettings::micro_batch (0: the engine's default)
  int64_t head_chunk = 256;  // batching.head_chunk
  int64_t n_mem = 1;
};

// B texts of `length` tokens (deterministic ids), [mem] of n_mem vectors.
inline std::vector<CramItem> bench_items(const CausalLM& model, int64_t B, int64_t length, int64_t n_mem) {
  std::vector<CramItem> items;
  for (int64_t b = 0; b < B; ++b) {
    CramItem it;
    it.key = "bench-" + std::to_string(b);
    it.n_mem = static_cast<int32_t>(n_mem);
    for (int64_t i = 0; i < length; ++i)
      it.tokens.push_back(static_cast<int32_t>((b * 7919 + i * 104729) % model.spec().vocab_size));
    items.push_back(it);
  }
  return items;
}

inline CramSettings bench_settings(const MeasureOptions& o, int64_t max_steps) {
  CramSettings s;
  s.micro_batch = o.micro_batch;
  s.cram.decode_check = false;
  s.cram.optimizer.target_accuracy = 2.0;  // never reached: no text stops early
  s.cram.optimizer.patience = 0;
  s.cram.optimizer.max_steps = max_steps;
  s.batching.head_chunk = o.head_chunk;
  return s;
}

// Seconds per step of a batch of B texts: (time of `steps` steps - time of 0 steps) / steps,
// so the baseline forward is not counted. cram_batch returns host results, so each call ends
// with the device's work done.
inline Throughput measure(CausalLM& model, int64_t B, int64_t length, int64_t steps,
                          const MeasureOptions& o = {}) {
  model.set_attention_kernel(o.kernel);
  const auto items = bench_items(model, B, length, o.n_mem);
  auto t0 = Clock::now();
  cram_batch(model, items, bench_settings(o, 0));
  const double t_base = since(t0);
  t0 = Clock::now();
  cram_batch(model, items, bench_settings(o, steps));
  // max_steps = S evaluates S + 1 mems and applies S updates: count S + 1 forwards, S backwards.
  Throughput r;
  r.steps = steps;
  r.step_seconds = std::max(1e-9, since(t0) - t_base) / static_cast<double>(steps);
  r.sample_steps = static_cast<double>(B) / r.step_seconds;
  r.token_steps = r.sample_steps * static_cast<double>(length);
  // Positions k + length - 1 (the last token is only a target), length - 1 scored rows.
  r.flops_per_s = step_flops(model.spec(), B, o.n_mem + length - 1, length - 1) / r.step_seconds;
  return r;
}

}  // namespace crammer::bench
