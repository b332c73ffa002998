// Signal handlers that only flip an atomic flag (async-signal-safe).
#include "crammer/util/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <initializer_list>

namespace crammer {
namespace {
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  g_stop.store(true);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
int stop_signal() { return g_stop_signal.load(); }
void request_stop(int signal_number) {
  g_stop_signal.store(signal_number);
  g_stop.store(true);
}
void clear_stop() {
  g_stop.store(false);
  g_stop_signal.store(0);
}

}  // namespace crammer
