// The Slurm batch script of a sweep: `crammer run` under `srun --mpi=pmix` (rank 0 coordinator
// + one worker rank per GPU, or per CPU slot), with time-limit/preemption wiring (signal -> exit
// 75 -> `scontrol requeue` -> resume). docs/slurm.md explains every line; slurm/*.sbatch are
// golden renders.
#pragma once

#include <string>

#include "crammer/slurm/options.hpp"

namespace crammer {

// The batch script for `opts`, exactly as given (paths are not made absolute; see
// resolve_submit_options). Validates first.
std::string render_sbatch(const SubmitOptions& opts);

}  // namespace crammer
