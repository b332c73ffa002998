// reference_forward_tool CKPT IN.safetensors OUT.safetensors [f32|bf16]: crammer's outputs for
// the ids (and optional mem) in IN, written as OUT (logits, loss, acc, mem_logits), so that
// Python tests in the venv compare them with transformers (tests/reference/test_make_model.py).
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include <torch/torch.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "reference_forward.hpp"

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::cerr << "usage: " << argv[0] << " CKPT IN.safetensors OUT.safetensors [f32|bf16]\n";
    return 2;
  }
  try {
    const std::string dtype = argc == 5 ? argv[4] : "f32";
    if (dtype != "f32" && dtype != "bf16") {
      std::cerr << argv[0] << ": dtype '" << dtype << "': expected f32 or bf16\n";
      return 2;
    }
    auto in = crammer::Checkpoint::open_file(argv[2]);
    auto model = crammer::load_model(argv[1], dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32);
    torch::Tensor mem;
    if (in.contains("mem")) mem = in.get("mem");
    auto out = crammer::reference::run_forward(*model, in.get("ids"), mem);
    std::map<std::string, torch::Tensor> tensors = {
        {"logits", out.logits}, {"loss", out.loss}, {"acc", out.acc}};
    if (out.mem_logits.defined()) tensors["mem_logits"] = out.mem_logits;
    crammer::write_safetensors(argv[3], tensors);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
