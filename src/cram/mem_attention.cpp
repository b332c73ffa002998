// The attention mass on [mem] at the best mem (mem_attention.hpp).
#include "crammer/cram/mem_attention.hpp"

#include <ATen/core/grad_mode.h>
#include <torch/torch.h>

#include "crammer/cram/one_step.hpp"
#include "crammer/model/attention_mass.hpp"
#include "crammer/model/causal_lm.hpp"

namespace crammer {

std::vector<std::vector<float>> mem_attention_mass(CausalLM& model, const std::vector<torch::Tensor>& mems,
                                                   const std::vector<std::vector<int32_t>>& texts,
                                                   const std::vector<std::vector<int32_t>>& contexts, int64_t k,
                                                   bool one_step, const torch::Tensor& shared_m) {
  at::NoGradGuard no_grad;
  const auto w = model.embedding_weight();
  std::vector<std::vector<float>> out(texts.size());
  for (size_t b = 0; b < texts.size(); ++b) {
    const auto n = static_cast<int64_t>(texts[b].size());
    if (n < 2) continue;
    auto mem = mems[b].to(w.device(), torch::kFloat32).unsqueeze(0);
    torch::Tensor embeds;
    int64_t first = k;  // the first query position
    if (one_step) {
      embeds = one_step_carrier(mem, shared_m.defined() ? shared_m.to(w.device(), torch::kFloat32) : shared_m, k,
                                k + n - 1);
    } else {
      const std::vector<int32_t>& c = b < contexts.size() ? contexts[b] : std::vector<int32_t>{};
      std::vector<int64_t> ids(c.begin(), c.end());
      ids.insert(ids.end(), texts[b].begin(), texts[b].end() - 1);
      first += static_cast<int64_t>(c.size());
      auto text = model.embed(torch::tensor(ids, torch::dtype(torch::kInt64)).unsqueeze(0).to(w.device()));
      embeds = torch::cat({mem.to(text.scalar_type()), text}, 1);
    }
    auto weight = torch::zeros({1, embeds.size(1)}, torch::dtype(torch::kFloat32).device(w.device()));
    weight.narrow(1, first, n - 1).fill_(1.0 / static_cast<double>(n - 1));
    AttentionMassRecorder recorder(k, weight);
    model.forward(embeds.to(w.scalar_type()));
    auto mass = recorder.mass()[0].contiguous();
    out[b].assign(mass.data_ptr<float>(), mass.data_ptr<float>() + mass.numel());
  }
  return out;
}

}  // namespace crammer
