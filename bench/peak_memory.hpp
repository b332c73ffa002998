// Peak resident memory of one piece of work, for the benchmarks (Linux: /proc/self).
#pragma once

#include <malloc.h>

#include <fstream>
#include <string>

namespace crammer::bench {

// A kB field of /proc/self/status ("VmRSS:", "VmHWM:"); -1 when absent.
inline long rss_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

// Peak resident memory added while fn runs, in MiB (peak RSS reset through clear_refs).
template <class F>
double peak_mib(F&& fn) {
  malloc_trim(0);
  const long before = rss_kib("VmRSS:");
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  fn();
  const long peak = rss_kib("VmHWM:");
  return static_cast<double>(peak - before) / 1024.0;
}

}  // namespace crammer::bench
