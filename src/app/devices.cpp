// runtime.device checks (devices.hpp).
#include "devices.hpp"

#include <torch/cuda.h>

#include <cstdlib>

#include "crammer/util/error.hpp"

namespace crammer {

DistOptions device_options(const std::string& device, bool computes) {
  DistOptions o;
  if (device == "cpu") return o;
  o.use_cuda = true;
  if (device != "cuda") {
    const std::string n = device.substr(5);  // after "cuda:" (validate() allows only cuda:*)
    if (n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos)
      throw ConfigError("runtime.device: '" + device + "' is not one of cpu | cuda | cuda:N (N a GPU index)");
    o.fixed_device = std::stoi(n);
  }
  if (!computes) return o;
  o.visible_gpus = static_cast<int>(torch::cuda::device_count());  // honours CUDA_VISIBLE_DEVICES
  if (o.visible_gpus < 1) {
    const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
    throw ConfigError("runtime.device: '" + device +
                      "' but this process sees no GPU: LibTorch built without CUDA, no NVIDIA driver, or an empty "
                      "CUDA_VISIBLE_DEVICES (here " + (cvd ? "'" + std::string(cvd) + "'" : std::string("unset")) +
                      "). Use runtime.device=cpu, or run on a GPU node with a CUDA LibTorch");
  }
  if (o.fixed_device >= o.visible_gpus)
    throw ConfigError("runtime.device: '" + device + "' but this process sees " + std::to_string(o.visible_gpus) +
                      " GPU(s), cuda:0..cuda:" + std::to_string(o.visible_gpus - 1) +
                      " (CUDA_VISIBLE_DEVICES renumbers them from 0)");
  return o;
}

std::string plan_device_note(const std::string& device) {
  if (device == "cpu") return "";
  const DistOptions o = device_options(device, false);  // the cuda:N syntax
#if !defined(CRAMMER_TORCH_HAS_CUDA)
  throw ConfigError("runtime.device: '" + device + "' but this crammer is built against a LibTorch without CUDA "
                    "(CPU only): no node can run it. Use runtime.device=cpu, or build crammer against a CUDA "
                    "LibTorch (README: building against a pip-installed torch)");
#endif
  const int visible = static_cast<int>(torch::cuda::device_count());
  if (visible < 1)
    return "runtime.device: '" + device + "': this process sees no GPU; `crammer run` here would refuse it "
           "(fine where the sweep runs on GPU nodes)";
  if (o.fixed_device >= visible)
    return "runtime.device: '" + device + "': this process sees " + std::to_string(visible) +
           " GPU(s); `crammer run` here would refuse it";
  return "";
}

}  // namespace crammer
