#include "reference_forward.hpp"

#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "crammer/cram/ops.hpp"

namespace crammer::reference {

ForwardOutputs run_forward(CausalLM& model, const torch::Tensor& ids_in, const torch::Tensor& mem) {
  torch::NoGradGuard no_grad;
  const auto device = model.embedding_weight().device();
  auto ids = ids_in.to(torch::kInt64).to(device);
  ForwardOutputs out;
  auto embeds = model.embed(ids);
  out.logits = model.lm_head(model.forward(embeds)).to(torch::kFloat32).cpu();

  // The baseline through crammer's own scoring path (compute_baselines), not a re-derivation.
  std::vector<std::vector<int32_t>> texts;
  auto cpu_ids = ids.cpu();
  for (int64_t b = 0; b < cpu_ids.size(0); ++b) {
    auto row = cpu_ids[b].to(torch::kInt32).contiguous();
    texts.emplace_back(row.data_ptr<int32_t>(), row.data_ptr<int32_t>() + row.numel());
  }
  auto base = compute_baselines(model, texts, /*predict_first_token=*/false, /*chunk=*/64);
  out.loss = torch::empty({ids.size(0)});
  out.acc = torch::empty({ids.size(0)});
  for (size_t b = 0; b < base.size(); ++b) {
    out.loss[static_cast<int64_t>(b)] = base[b].loss;
    out.acc[static_cast<int64_t>(b)] =
        double(base[b].correct) / double(texts[b].size() - 1);
  }

  if (mem.defined()) {
    auto prefix = mem.to(embeds.scalar_type()).to(device).unsqueeze(0).expand(
        {ids.size(0), mem.size(0), mem.size(1)});
    auto h = model.forward(torch::cat({prefix, embeds}, 1));
    out.mem_logits = model.lm_head(h).to(torch::kFloat32).cpu();
  }
  return out;
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  if (a.sizes() != b.sizes())
    throw std::runtime_error(what + ": shape " + c10::str(a.sizes()) + " vs expected " +
                             c10::str(b.sizes()));
  auto fa = a.to(torch::kFloat64), fb = b.to(torch::kFloat64);
  double scale = fb.abs().max().item<double>();
  double diff = (fa - fb).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

}  // namespace crammer::reference
