// Benchmark of load_model: generates a ~530 MB Llama-shaped f32 checkpoint (and a bf16 copy)
// under /tmp with make_model_checkpoint, then times loading it cold (files evicted from the page
// cache with posix_fadvise) and warm, into f32 and bf16, with peak RSS (getrusage ru_maxrss)
// and current RSS around each load. Not a test: it prints figures and asserts nothing.
// Usage: model_load_bench [DIR]   (default /tmp/crammer_bench_model_load; kept for reruns)
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <ATen/Parallel.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/make_model.hpp"

namespace fs = std::filesystem;
using crammer::MakeModelOptions;

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double current_rss_mb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double dir_mb(const fs::path& d) {
  double bytes = 0;
  for (const auto& e : fs::directory_iterator(d))
    if (e.path().extension() == ".safetensors") bytes += double(fs::file_size(e.path()));
  return bytes / (1024.0 * 1024.0);
}

// Drops the files' pages from the page cache so the next read comes from disk ("cold").
void evict(const fs::path& d) {
  for (const auto& e : fs::directory_iterator(d)) {
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

MakeModelOptions bench_options(const std::string& out, const std::string& dtype) {
  MakeModelOptions o;
  o.arch = "llama";
  o.layers = 6;
  o.d_model = 1024;
  o.heads = 16;
  o.kv_heads = 4;
  o.vocab_size = 32000;
  o.intermediate_size = 2816;
  o.seed = 1;
  o.dtype = dtype;
  o.shards = 2;
  o.out_dir = out;
  return o;
}

void time_load(const char* label, const fs::path& d, torch::Dtype dtype, bool cold) {
  if (cold) evict(d);
  double rss0 = current_rss_mb();
  auto t0 = std::chrono::steady_clock::now();
  auto model = crammer::load_model(d.string(), dtype);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double mb = dir_mb(d);
  std::printf("%-34s %7.3f s  %7.0f MB/s  RSS %6.0f -> %6.0f MB  peak RSS %6.0f MB\n", label, s,
              mb / s, rss0, current_rss_mb(), peak_rss_mb());
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = argc > 1 && std::string(argv[1]) != "--generate" ? argv[1]
                                                                    : "/tmp/crammer_bench_model_load";
  if (argc > 2 && std::string(argv[1]) == "--generate") {
    // Child process: generation's memory must not count in the loader's peak RSS.
    crammer::make_model_checkpoint(bench_options(argv[2], argv[3]));
    return 0;
  }
  for (const char* dtype : {"f32", "bf16"}) {
    fs::path d = root / dtype;
    if (fs::exists(d / "config.json")) continue;
    auto t0 = std::chrono::steady_clock::now();
    std::string cmd = fs::read_symlink("/proc/self/exe").string() + " --generate " + d.string() + " " + dtype;
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "generating %s failed\n", d.c_str());
      return 1;
    }
    std::printf("generated %s (%.0f MB) in %.1f s\n", d.c_str(), dir_mb(d),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  fs::path f32 = root / "f32", bf16 = root / "bf16";
  std::printf("checkpoint: llama 6 layers, d 1024, 16 heads / 4 kv heads, ffn 2816, vocab 32000, "
              "2 shards; f32 %.0f MB, bf16 %.0f MB; torch threads %d\n",
              dir_mb(f32), dir_mb(bf16), at::get_num_threads());
  std::printf("process start: RSS %.0f MB, peak RSS %.0f MB\n", current_rss_mb(), peak_rss_mb());
  time_load("f32 ckpt -> f32, cold", f32, torch::kFloat32, true);
  time_load("f32 ckpt -> f32, warm", f32, torch::kFloat32, false);
  time_load("f32 ckpt -> f32, warm (again)", f32, torch::kFloat32, false);
  time_load("f32 ckpt -> bf16, warm", f32, torch::kBFloat16, false);
  time_load("bf16 ckpt -> bf16, cold", bf16, torch::kBFloat16, true);
  time_load("bf16 ckpt -> bf16, warm", bf16, torch::kBFloat16, false);
  time_load("bf16 ckpt -> f32, warm", bf16, torch::kFloat32, false);
  return 0;
}
