// Turning a crash while reading a damaged results file into exit 2 (crash_guard.hpp).
#include "crash_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "crammer/store/results_file.hpp"
#include "schema.hpp"

namespace crammer::store {
namespace {

// Formatted before any read: the handler may only write() and _exit().
char g_message[4096];
size_t g_length = 0;
int g_depth = 0;
struct sigaction g_old_segv {}, g_old_bus {};
alignas(16) char g_alt_stack[64 * 1024];  // a crash from a runaway recursion has no stack left

void on_crash(int) {
  ssize_t ignored = ::write(STDERR_FILENO, g_message, g_length);
  (void)ignored;
  _exit(2);
}

void set_message(const std::string& m) {
  g_length = std::min(m.size(), sizeof g_message);
  std::memcpy(g_message, m.data(), g_length);
}

}  // namespace

CrashGuard::CrashGuard(const std::string& message) : previous_(g_message, g_length) {
  set_message(message + "\n");
  if (g_depth++ > 0) return;
  stack_t ss{};
  ss.ss_sp = g_alt_stack;
  ss.ss_size = sizeof g_alt_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSEGV, &sa, &g_old_segv);
  ::sigaction(SIGBUS, &sa, &g_old_bus);
}

CrashGuard::~CrashGuard() {
  set_message(previous_);
  if (--g_depth > 0) return;
  ::sigaction(SIGSEGV, &g_old_segv, nullptr);
  ::sigaction(SIGBUS, &g_old_bus, nullptr);
}

std::string damaged_file_message(const std::string& path) {
  // A run that finds the file would read it (and crash) again before rebuilding: it must go first.
  return "crammer: error: results file " + path + " is damaged: the HDF5 library crashed reading it. " +
         schema::move_away_advice(path);
}

}  // namespace crammer::store
