// crammer's cramming throughput on one checkpoint, batch by batch, for the GPU side by side
// (bench/gpu/run.sh, docs/GPU.md): texts of --length random-looking ids that never stop early,
// k [mem] vectors, the model in --dtype on --device. Per batch: seconds per step, sample-steps/s,
// achieved FLOP/s (docs/bench/cram.md's count) and its fraction of --peak-tflops (MFU), peak
// device memory on a GPU. A batch that runs out of device memory is reported as not fitting and
// ends the sweep (larger ones would not fit either). Prints a table; --json writes the figures.
//   gpu_cram_bench --model DIR --length 512 --batches 1,8,32,128 --device cuda --dtype bf16
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/types.h>
#include <torch/version.h>

#include "cram_measure.hpp"

#if defined(CRAMMER_TORCH_HAS_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

using namespace crammer;
using namespace crammer::bench;

namespace {

struct Args {
  std::string model, device = "cuda", dtype = "bf16", json, batches = "1,8,32,128", attention = "auto";
  int64_t length = 80, n_mem = 1, head_chunk = 4096;
  double seconds = 3, peak_tflops = 790;
  int threads = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "gpu_cram_bench: " << why << "\n"
            << "usage: gpu_cram_bench --model DIR [--length N] [--n-mem K] [--batches 1,8,32,128]\n"
            << "         [--device cuda|cpu] [--dtype bf16|f32] [--head-chunk ROWS] [--seconds S]\n"
            << "         [--attention auto|explicit|sdpa] [--peak-tflops T] [--threads N] [--json FILE]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage("option " + k + " needs a value");
    const std::string v = argv[++i];
    try {
      if (k == "--model") a.model = v;
      else if (k == "--device") a.device = v;
      else if (k == "--dtype") a.dtype = v;
      else if (k == "--json") a.json = v;
      else if (k == "--batches") a.batches = v;
      else if (k == "--attention") a.attention = v;
      else if (k == "--length") a.length = std::stoll(v);
      else if (k == "--n-mem") a.n_mem = std::stoll(v);
      else if (k == "--head-chunk") a.head_chunk = std::stoll(v);
      else if (k == "--seconds") a.seconds = std::stod(v);
      else if (k == "--peak-tflops") a.peak_tflops = std::stod(v);
      else if (k == "--threads") a.threads = std::stoi(v);
      else usage("unknown option " + k);
    } catch (const std::logic_error&) {
      usage("option " + k + ": '" + v + "' is not a number");
    }
  }
  if (a.model.empty()) usage("--model DIR is required");
  if (a.dtype != "bf16" && a.dtype != "f32") usage("--dtype '" + a.dtype + "': expected bf16 or f32");
  if (a.length < 2 || a.n_mem < 1 || a.head_chunk < 1 || a.seconds <= 0 || a.peak_tflops <= 0)
    usage("--length >= 2, --n-mem >= 1, --head-chunk >= 1, --seconds > 0 and --peak-tflops > 0");
  return a;
}

std::vector<int64_t> batch_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::stoll(item));
  if (out.empty()) usage("--batches '" + text + "': expected a comma-separated list of batch sizes");
  return out;
}

bool out_of_memory(const std::exception& e) {
  return std::string(e.what()).find("out of memory") != std::string::npos;
}

void reset_peak(const torch::Device& device) {
#if defined(CRAMMER_TORCH_HAS_CUDA)
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#else
  (void)device;
#endif
}

// Peak bytes the caching allocator handed out since reset_peak; -1 off a GPU.
double peak_gib(const torch::Device& device) {
#if defined(CRAMMER_TORCH_HAS_CUDA)
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    const auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return static_cast<double>(stats.allocated_bytes[all].peak) / (1 << 30);
  }
#else
  (void)device;
#endif
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const auto batches = batch_list(a.batches);
  if (a.threads > 0) at::set_num_threads(a.threads);
  try {
    const torch::Device device(a.device);
    auto model = load_model(a.model, a.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32, device);
    const ModelSpec& spec = model->spec();
    MeasureOptions o;
    o.kernel = parse_attention_kernel(a.attention);
    o.head_chunk = a.head_chunk;
    o.n_mem = a.n_mem;
    const double flops_per_sample_step = step_flops(spec, 1, a.n_mem + a.length - 1, a.length - 1);
    std::printf("gpu_cram_bench: %s (%s, %lld layers, d_model %lld, vocab %lld), length %lld, k %lld, %s on %s, "
                "LibTorch %s, attention %s, head_chunk %lld\n",
                a.model.c_str(), spec.model_type.c_str(), static_cast<long long>(spec.num_layers),
                static_cast<long long>(spec.hidden_size), static_cast<long long>(spec.vocab_size),
                static_cast<long long>(a.length), static_cast<long long>(a.n_mem), a.dtype.c_str(),
                a.device.c_str(), TORCH_VERSION,
                to_string(resolve_attention_kernel(o.kernel, device.is_cuda())).c_str(),
                static_cast<long long>(a.head_chunk));
    std::printf("  FLOPs per sample-step %.4g; MFU against %.0f TFLOP/s\n", flops_per_sample_step, a.peak_tflops);
    std::printf("  %5s %6s %10s %14s %10s %7s %9s\n", "batch", "steps", "s/step", "sample-steps/s", "TFLOP/s",
                "MFU", "peak GiB");
    auto rows = nlohmann::json::array();
    for (const int64_t B : batches) {
      try {
        reset_peak(device);
        // Warm-up (kernel selection, allocator growth), then a step count filling --seconds.
        const double per_step = measure(*model, B, a.length, 2, o).step_seconds;
        const int64_t steps = std::clamp<int64_t>(static_cast<int64_t>(a.seconds / per_step), 3, 200);
        const Throughput r = measure(*model, B, a.length, steps, o);
        const double tflops = r.flops_per_s / 1e12, mfu = tflops / a.peak_tflops, peak = peak_gib(device);
        std::printf("  %5lld %6lld %10.5f %14.2f %10.2f %6.1f%% %9.2f\n", static_cast<long long>(B),
                    static_cast<long long>(r.steps), r.step_seconds, r.sample_steps, tflops, 100 * mfu, peak);
        rows.push_back({{"batch", B}, {"fits", true}, {"steps", r.steps}, {"step_seconds", r.step_seconds},
                        {"sample_steps_per_s", r.sample_steps}, {"tflops", tflops}, {"mfu", mfu},
                        {"peak_gib", peak}});
      } catch (const std::exception& e) {
        if (!out_of_memory(e)) throw;
        std::printf("  %5lld   does not fit in device memory\n", static_cast<long long>(B));
        rows.push_back({{"batch", B}, {"fits", false}});
        break;
      }
      std::fflush(stdout);
    }
    if (!a.json.empty()) {
      const nlohmann::json doc = {{"model", a.model}, {"model_type", spec.model_type}, {"length", a.length},
                                  {"n_mem", a.n_mem}, {"dtype", a.dtype}, {"device", a.device},
                                  {"libtorch", TORCH_VERSION}, {"head_chunk", a.head_chunk},
                                  {"peak_tflops", a.peak_tflops}, {"flops_per_sample_step", flops_per_sample_step},
                                  {"batches", rows}};
      std::ofstream f(a.json);
      f << doc.dump(2) << "\n";
      if (!f) throw std::runtime_error(a.json + ": cannot write");
    }
  } catch (const std::exception& e) {
    std::cerr << "gpu_cram_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
