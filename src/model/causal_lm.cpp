// Architecture-neutral parts of CausalLM: random init, loading a
// Hugging Face checkpoint directory through each architecture's name table, and exporting it.
// The maths and the names of each architecture live in its family's file (family.hpp).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <set>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/checkpoint_info.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/model/safetensors_header.hpp"
#include "crammer/util/error.hpp"
#include "family.hpp"

namespace crammer {
namespace {

const Family& architecture(const ModelSpec& spec, const std::string& where) {
  if (const Family* family = find_family(spec.model_type)) return *family;
  std::string list;
  for (const auto& t : supported_model_types()) list += (list.empty() ? "" : ", ") + t;
  throw ModelLoadError(where + ": unknown model_type '" + spec.model_type + "' (supported: " +
                       list + ")");
}

// "a, b, c ... and N more": error messages list names without flooding the terminal.
std::string name_list(const std::vector<std::string>& names, size_t max_shown = 12) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max_shown) out += " ... and " + std::to_string(names.size() - max_shown) + " more";
  return out;
}

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// How one checkpoint's tensor names meet an architecture's table: the base-model prefix, and the
// names that are not parameters (buffers some checkpoints still carry, a tied head saved anyway).
struct CheckpointNames {
  std::string prefix;  // "" when the checkpoint was saved from the base model
  std::set<std::string> ignorable;

  std::string of(const std::string& table_name) const {
    if (!prefix.empty() && table_name.rfind(prefix, 0) == 0) return table_name.substr(prefix.size());
    return table_name;
  }
};

CheckpointNames checkpoint_names(const ModelSpec& spec, const Family& arch,
                                 const std::vector<std::string>& names) {
  CheckpointNames out;
  // Checkpoints saved from the base model (GPT2Model, LlamaModel) lack the prefix: if no
  // tensor carries it, match the table without it, as transformers does.
  bool prefixed = false;
  for (const auto& n : names) prefixed = prefixed || n.rfind(arch.base_prefix, 0) == 0;
  if (!prefixed) out.prefix = arch.base_prefix;
  for (int64_t i = 0; i < spec.num_layers; ++i)
    for (const auto& pattern : arch.ignored) {
      std::string n = pattern;
      n.replace(n.find("{}"), 2, std::to_string(i));
      out.ignorable.insert(out.of(n));
    }
  if (spec.tie_word_embeddings) out.ignorable.insert(arch.head);
  return out;
}

// Every tensor the architecture's table needs is in the checkpoint, with the shape config.json
// implies and a float dtype, and nothing else is (but ignorable buffers): else a ModelLoadError
// naming the file and tensors. Reads headers only.
CheckpointNames match_checkpoint(const std::string& dir, const ModelSpec& spec, const Family& arch,
                                 const Checkpoint& ckpt, const std::vector<HfParam>& table) {
  const std::vector<std::string> names = ckpt.names();
  const std::set<std::string> present(names.begin(), names.end());
  CheckpointNames cn = checkpoint_names(spec, arch, names);
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (const HfParam& p : table) {
    std::string n = cn.of(p.name);
    if (present.count(n)) used.insert(n);
    else missing.push_back(n);
  }
  used.insert(cn.ignorable.begin(), cn.ignorable.end());
  std::vector<std::string> unused;
  for (const auto& n : names)
    if (!used.count(n)) unused.push_back(n);
  if (!missing.empty() || !unused.empty()) {
    std::string msg = dir + ": checkpoint tensors do not match config.json (model_type " +
                      spec.model_type + ", " + std::to_string(spec.num_layers) + " layers)";
    if (!missing.empty()) msg += "; missing tensors: " + name_list(missing);
    if (!unused.empty()) msg += "; unused tensors: " + name_list(unused);
    throw ModelLoadError(msg);
  }
  for (const HfParam& p : table) {
    const std::string n = cn.of(p.name);
    const TensorInfo& info = ckpt.info(n);
    if (!p.tensor.sizes().equals(info.shape))
      throw ModelLoadError(info.file + ": tensor '" + n + "' has shape " + shape_str(info.shape) +
                           ", config.json implies " + shape_str(p.tensor.sizes()));
    if (!float_dtype(info.st_dtype))
      throw ModelLoadError(info.file + ": tensor '" + n + "' is stored as " + info.st_dtype +
                           "; crammer loads weights stored as F32, F16 or BF16");
  }
  return cn;
}

}  // namespace

torch::Tensor soft_cap(const torch::Tensor& x, double c) { return c > 0 ? x.div(c).tanh().mul(c) : x; }

std::vector<torch::Tensor> CausalLM::forward_states(const torch::Tensor& embeds) {
  std::vector<torch::Tensor> states;
  states_ = &states;
  try {
    forward(embeds);
  } catch (...) {
    states_ = nullptr;
    throw;
  }
  states_ = nullptr;
  return states;
}

torch::Tensor CausalLM::lm_head(const torch::Tensor& hidden) {
  // In the compute dtype, then f32, as transformers' `logits.float()`; the cap in f32.
  return soft_cap(at::linear(hidden, head_weight()).to(torch::kFloat32), final_logit_softcap());  // [..., V]
}

void CausalLM::set_attention_kernel(AttentionKernel kernel) { attention_ = kernel; }

void CausalLM::freeze() {
  for (auto& p : parameters()) p.set_requires_grad(false);
}

std::shared_ptr<CausalLM> make_random_model(const ModelSpec& spec, uint64_t seed,
                                            double initializer_range) {
  auto model = architecture(spec, "make_random_model").build(spec, torch::TensorOptions());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  // Table order is fixed, so the same seed gives the same weights.
  for (HfParam& p : model->hf_params()) {
    switch (p.init) {
      case HfParam::Init::normal: p.tensor.normal_(0.0, initializer_range * p.std_scale, gen); break;
      case HfParam::Init::ones: p.tensor.fill_(1.0); break;
      case HfParam::Init::zeros: p.tensor.zero_(); break;
      case HfParam::Init::custom: {
        at::Generator g = gen;
        p.fill(p.tensor, g);
        break;
      }
    }
  }
  return model;
}

std::shared_ptr<CausalLM> load_model(const std::string& dir, torch::Dtype dtype,
                                     torch::Device device) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
    throw ModelLoadError(dir + ": compute dtype must be f32, bf16 or f16");
  ModelSpec spec = read_model_spec(dir);
  const Family& arch = architecture(spec, dir + "/config.json");
  Checkpoint ckpt = Checkpoint::open(dir);
  auto model = arch.build(spec, torch::TensorOptions().dtype(dtype).device(device));
  std::vector<HfParam> table = model->hf_params();
  const CheckpointNames cn = match_checkpoint(dir, spec, arch, ckpt, table);
  auto ckpt_name = [&](const std::string& n) { return cn.of(n); };

  torch::NoGradGuard no_grad;
  for (HfParam& p : table) {
    std::string n = ckpt_name(p.name);
    // copy_ converts dtype and device into the preallocated parameter: one pass, no temporary.
    p.tensor.copy_(ckpt.get(n));
    // NaN or inf weights would give rows of NaN losses marked done: refuse the model instead.
    if (!torch::isfinite(p.tensor).all().item<bool>())
      throw ModelLoadError(ckpt.info(n).file + ": tensor '" + n + "' holds non-finite values (NaN or inf)");
  }
  model->freeze();
  model->eval();
  return model;
}

bool has_checkpoint(const std::string& dir) {
  const std::filesystem::path d(dir);
  return std::filesystem::is_regular_file(d / "model.safetensors") ||
         std::filesystem::is_regular_file(d / "model.safetensors.index.json");
}

void check_checkpoint(const std::string& dir) {
  ModelSpec spec = read_model_spec(dir);
  const Family& arch = architecture(spec, dir + "/config.json");
  Checkpoint ckpt = Checkpoint::open(dir);
  // On the meta device the table has every shape and allocates nothing.
  auto model = arch.build(spec, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kMeta));
  match_checkpoint(dir, spec, arch, ckpt, model->hf_params());
}

int64_t count_parameters(const std::string& dir) {
  ModelSpec spec = read_model_spec(dir);
  const Family& arch = architecture(spec, dir + "/config.json");
  Checkpoint ckpt = Checkpoint::open(dir);
  const CheckpointNames cn = checkpoint_names(spec, arch, ckpt.names());
  int64_t total = 0;
  for (const auto& n : ckpt.names()) {
    if (cn.ignorable.count(n)) continue;
    int64_t numel = 1;
    for (int64_t d : ckpt.info(n).shape) numel *= d;
    total += numel;
  }
  return total;
}

std::map<std::string, torch::Tensor> export_hf_weights(CausalLM& model) {
  std::map<std::string, torch::Tensor> out;
  for (HfParam& p : model.hf_params()) out[p.name] = p.tensor.detach();
  return out;
}

}  // namespace crammer
