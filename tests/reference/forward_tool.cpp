// crammer's outputs for the ids (and optional mem) of an input file, written as safetensors
// (logits, loss, acc, mem_logits), so that Python compares them with transformers
// (tests/reference/check_make_model.py; bench/gpu/parity.py on a GPU):
//   reference_forward_tool CKPT IN.safetensors OUT.safetensors [f32|bf16] [DEVICE]
//   reference_forward_tool --cases LIST     each line "CKPT IN OUT DTYPE DEVICE": many
//                                           checkpoints in one process (a GPU starts once)
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "reference_forward.hpp"

namespace {

struct Case {
  std::string ckpt, in, out, dtype = "f32", device = "cpu";
};

void run_case(const Case& c) {
  if (c.dtype != "f32" && c.dtype != "bf16")
    throw std::runtime_error("dtype '" + c.dtype + "': expected f32 or bf16");
  auto in = crammer::Checkpoint::open_file(c.in);
  auto model = crammer::load_model(c.ckpt, c.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32,
                                   torch::Device(c.device));
  torch::Tensor mem;
  if (in.contains("mem")) mem = in.get("mem");
  auto out = crammer::reference::run_forward(*model, in.get("ids"), mem);
  std::map<std::string, torch::Tensor> tensors = {
      {"logits", out.logits}, {"loss", out.loss}, {"acc", out.acc}};
  if (out.mem_logits.defined()) tensors["mem_logits"] = out.mem_logits;
  crammer::write_safetensors(c.out, tensors);
}

std::vector<Case> read_cases(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path + ": cannot open the case list");
  std::vector<Case> cases;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    Case c;
    std::string extra;
    if (!(words >> c.ckpt >> c.in >> c.out >> c.dtype >> c.device) || (words >> extra))
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected 'CKPT IN OUT DTYPE DEVICE'");
    cases.push_back(c);
  }
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  const bool list = argc == 3 && std::string(argv[1]) == "--cases";
  if (!list && (argc < 4 || argc > 6)) {
    std::cerr << "usage: " << argv[0] << " CKPT IN.safetensors OUT.safetensors [f32|bf16] [DEVICE]\n"
              << "       " << argv[0] << " --cases LIST   (lines: CKPT IN OUT DTYPE DEVICE)\n";
    return 2;
  }
  std::vector<Case> cases;
  try {
    if (list) {
      cases = read_cases(argv[2]);
    } else {
      Case c{argv[1], argv[2], argv[3]};
      if (argc > 4) c.dtype = argv[4];
      if (argc > 5) c.device = argv[5];
      cases.push_back(c);
    }
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  }
  int failed = 0;
  for (const auto& c : cases) {
    try {
      run_case(c);
    } catch (const std::exception& e) {
      std::cerr << argv[0] << ": " << c.ckpt << " (" << c.dtype << ", " << c.device << "): " << e.what() << "\n";
      ++failed;
    }
  }
  return failed ? 1 : 0;
}
