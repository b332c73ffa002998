// Starting [mem] vectors by cram.init (mem_init.hpp).
#include "crammer/cram/mem_init.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "crammer/cram/ops.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

namespace {

constexpr double kUniformHigh = 0.02;  // progressive cramming's U[0, 0.02)

at::Generator generator_for(const std::string& task_key, uint64_t run_seed) {
  return at::make_generator<at::CPUGeneratorImpl>(mem_seed(task_key, run_seed));
}

}  // namespace

MemInit::MemInit(const CramConfig& cfg, const torch::Tensor& embedding, uint64_t run_seed)
    : kind_(cfg.init), seed_(run_seed), scale_(cfg.init_std_scale) {
  at::NoGradGuard no_grad;
  const torch::Tensor e = embedding.to(torch::kFloat32);
  randn_std_ = e.std().item<double>() * scale_;
  if (kind_ == "vocab_gaussian") {
    mean_ = e.mean(0).cpu();  // [d]
    std_ = e.std(0).cpu();    // [d], unbiased as torch.std
  }
}

torch::Tensor MemInit::start(const std::string& task_key, int64_t k, int64_t d,
                             const torch::Tensor& text_embeds) const {
  at::NoGradGuard no_grad;
  const auto f32 = torch::dtype(torch::kFloat32);
  if (kind_ == "randn" || kind_ == "file") return init_mem(task_key, seed_, k, d, randn_std_);
  if (kind_ == "uniform") {
    auto gen = generator_for(task_key, seed_);
    return torch::rand({k, d}, gen, f32) * (kUniformHigh * scale_);
  }
  if (kind_ == "vocab_gaussian") {
    auto gen = generator_for(task_key, seed_);
    return mean_ + torch::randn({k, d}, gen, f32) * (std_ * scale_);
  }
  if (kind_ == "text_mean") {
    if (!text_embeds.defined() || text_embeds.dim() != 2 || text_embeds.size(0) == 0 || text_embeds.size(1) != d)
      throw ConfigError("cram.init text_mean: task " + task_key + " has no text embeddings of width " +
                        std::to_string(d));
    return text_embeds.to(torch::kCPU, torch::kFloat32).mean(0).expand({k, d}).contiguous();
  }
  throw ConfigError("cram.init: unknown kind '" + kind_ + "'");
}

}  // namespace crammer
