// One-step generation's carrier, shared m and decode check (one_step.hpp).
#include "crammer/cram/one_step.hpp"

#include <algorithm>

#include <ATen/core/grad_mode.h>
#include <torch/torch.h>

#include "crammer/cram/mem_init.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

torch::Tensor one_step_carrier(const torch::Tensor& trained, const torch::Tensor& shared_m, int64_t k, int64_t T) {
  const int64_t B = trained.size(0);
  const int64_t d = trained.size(2);
  auto m = shared_m.defined() ? shared_m.view({1, 1, d}).expand({B, 1, d}) : trained.narrow(1, k, 1);
  return torch::cat({trained.narrow(1, 0, k), m.expand({B, T - k, d})}, 1);
}

torch::Tensor one_step_shared_m(const CramConfig& cfg, const MemInit& start, int64_t d) {
  if (!cfg.init_mem) return start.start("m", 1, d).view({d});  // init_mem implies init: file
  const auto file = Checkpoint::open_file(*cfg.init_mem);
  if (!file.contains("m"))
    throw ConfigError("cram.init_mem: no tensor 'm' (the shared m of cram.one_step shared) in " + *cfg.init_mem);
  auto m = file.get("m").to(torch::kFloat32);
  if (m.numel() != d)
    throw ConfigError("cram.init_mem: tensor 'm' in " + *cfg.init_mem + " has " + std::to_string(m.numel()) +
                      " values, expected the model's width " + std::to_string(d));
  return m.reshape({d}).clone();
}

GreedyDecode one_step_decode(CausalLM& model, const torch::Tensor& trained, const torch::Tensor& shared_m, int64_t k,
                             const std::vector<std::vector<int32_t>>& texts) {
  at::NoGradGuard no_grad;
  GreedyDecode out;
  out.prefix.assign(texts.size(), 0);
  out.matches.assign(texts.size(), 0);
  out.tokens.assign(texts.size(), {});
  if (texts.empty()) return out;
  size_t longest = 1;
  for (const auto& t : texts) longest = std::max(longest, t.size());
  const auto w = model.embedding_weight();
  auto carrier = one_step_carrier(trained.to(w.device(), torch::kFloat32),
                                  shared_m.defined() ? shared_m.to(w.device(), torch::kFloat32) : shared_m, k,
                                  k + static_cast<int64_t>(longest) - 1);
  auto hidden = model.forward(carrier.to(w.scalar_type()));  // [B, T, d]
  constexpr int64_t kChunk = 256;  // positions per LM-head call: at most [kChunk, V] logits
  for (size_t b = 0; b < texts.size(); ++b) {
    const auto n = static_cast<int64_t>(texts[b].size());
    bool exact = true;
    for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
      const int64_t len = std::min(kChunk, n - i0);
      auto pred = model.lm_head(hidden[static_cast<int64_t>(b)].narrow(0, k - 1 + i0, len)).argmax(1).cpu();
      auto p = pred.accessor<int64_t, 1>();
      for (int64_t i = 0; i < len; ++i) {
        const auto got = static_cast<int32_t>(p[i]);
        const bool right = got == texts[b][static_cast<size_t>(i0 + i)];
        out.tokens[b].push_back(got);
        out.matches[b] += right ? 1 : 0;
        exact = exact && right;
        out.prefix[b] += exact ? 1 : 0;
      }
    }
  }
  return out;
}

}  // namespace crammer
