// Cooperative stop on SIGTERM / SIGINT / SIGUSR1 / SIGUSR2 (Slurm's time-limit and preemption
// signals). Handlers only set a flag; long loops poll stop_requested() and unwind cleanly.
#pragma once

namespace crammer {

// Exit code of a run that stopped early on a signal after storing every finished result.
// Rerunning the same command resumes. (EX_TEMPFAIL from sysexits.h.)
constexpr int kExitInterrupted = 75;

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked for the stop, 0 if none
void request_stop(int signal_number = 0);
// Forgets a stop request, so the process can run again (tests that request one clear it).
void clear_stop();

// Thrown by long computations (e.g. a cramming batch) that noticed stop_requested().
struct Interrupted {};

}  // namespace crammer
