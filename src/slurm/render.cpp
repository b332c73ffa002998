// The batch script (see crammer/slurm/render.hpp and docs/slurm.md).
#include "crammer/slurm/render.hpp"

#include <sstream>

namespace crammer {

namespace {

// Single-quoted for bash: safe for any byte but NUL.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string default_log(const SubmitOptions& opts) {
  return "slurm-" + opts.job_name + (opts.array_configs.empty() ? "-%j.out" : "-%A_%a.out");
}

}  // namespace

std::string render_sbatch(const SubmitOptions& opts) {
  validate_submit_options(opts);
  const int64_t workers = workers_per_node(opts);
  const int64_t ntasks = opts.nodes * workers + 1;  // + rank 0, the coordinator
  const bool gpu = opts.gpus_per_node > 0;
  const auto configs = configs_of(opts);
  const std::string crammer = opts.crammer_binary.empty() ? "crammer" : opts.crammer_binary;

  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# crammer sweep, rendered by `crammer submit` (docs/slurm.md explains every line).\n"
    << "# Ranks: " << opts.nodes << " node(s) x " << workers << (gpu ? " GPU worker(s)" : " CPU worker(s)")
    << " + 1 coordinator (rank 0, light, on the first node) = " << ntasks << " srun tasks.\n"
    << "# Stop/resume: USR1 (time limit, preemption) -> crammer stores finished tasks and exits 75\n"
    << "# -> this job requeues itself -> the next start skips the tasks already in the results file.\n";
  auto sb = [&s](const std::string& line) { s << "#SBATCH " << line << "\n"; };
  sb("--job-name=" + opts.job_name);
  sb("--nodes=" + std::to_string(opts.nodes));
  // Every node gets room for workers + 1 tasks; srun starts nodes x workers + 1 of them, which
  // the srun line's block,NoPack layout places as workers + 1 on the first node and workers
  // elsewhere: what map_device (sweep/device_map.hpp) needs for one worker per GPU.
  sb("--ntasks-per-node=" + std::to_string(workers + 1));
  if (gpu) {
    if (opts.gpu_flag == "gres") {
      sb("--gres=gpu:" + std::to_string(opts.gpus_per_node));
    } else {
      sb("--gpus-per-node=" + std::to_string(opts.gpus_per_node));
    }
  }
  sb("--time=" + opts.time);
  if (!opts.partition.empty()) sb("--partition=" + opts.partition);
  if (!opts.account.empty()) sb("--account=" + opts.account);
  if (!opts.workdir.empty()) sb("--chdir=" + opts.workdir);
  sb("--output=" + (opts.output_log.empty() ? default_log(opts) : opts.output_log));
  sb("--open-mode=append");  // a requeued job appends to the same log
  sb("--requeue");
  if (opts.signal_seconds > 0) sb("--signal=B:USR1@" + std::to_string(opts.signal_seconds));
  if (!opts.array_configs.empty()) sb("--array=0-" + std::to_string(configs.size() - 1));
  for (const auto& a : opts.extra_sbatch_args) sb(a);

  s << "\nNTASKS=" << ntasks << "  # " << opts.nodes << " x " << workers << " workers + 1 coordinator\n";
  s << "CRAMMER=" << sh_quote(crammer) << "\n";
  if (opts.array_configs.empty()) {
    s << "CONFIG=" << sh_quote(configs[0]) << "\n";
  } else {
    s << "CONFIGS=(\n";
    for (const auto& c : configs) s << "  " << sh_quote(c) << "\n";
    s << ")\n"
      << "if [ -z \"${SLURM_ARRAY_TASK_ID:-}\" ] || [ \"$SLURM_ARRAY_TASK_ID\" -ge ${#CONFIGS[@]} ]; then\n"
      << "  echo \"crammer-submit: array task '${SLURM_ARRAY_TASK_ID:-}' has no config (0..$((${#CONFIGS[@]} - 1)))\" >&2\n"
      << "  exit 2\n"
      << "fi\n"
      << "CONFIG=${CONFIGS[$SLURM_ARRAY_TASK_ID]}\n";
  }
  s << "OVERRIDES=(";
  for (const auto& o : opts.overrides) s << " " << sh_quote(o);
  s << " )\n";
  if (!opts.setup_lines.empty()) {
    s << "\n";
    for (const auto& line : opts.setup_lines) s << line << "\n";
  }
  s << R"SH(
echo "crammer-submit: job $SLURM_JOB_ID restart ${SLURM_RESTART_COUNT:-0} on $SLURM_JOB_NODELIST at $(date '+%F %T'): $CONFIG"

# Slurm signals only this shell (--signal=B:..., scancel --batch): pass the signal on to the
# srun step, whose tasks (crammer) stop handing out work, store what finished and exit 75.
stop=""
step=""
forward() {
  stop=$1
  echo "crammer-submit: SIG$1 at $(date '+%F %T'): asking crammer to store its results and stop" >&2
  if [ -n "$step" ]; then kill -s "$1" "$step" 2>/dev/null; fi
}
trap 'forward USR1' USR1
trap 'forward USR2' USR2
trap 'forward TERM' TERM

# --kill-on-bad-exit=0: a worker that exits first must not take the coordinator down before it
# has stored the results.
# --distribution=block,NoPack: the tasks spread evenly, the coordinator and a node's workers on
# the first node and a node's workers on each other one, also where the site packs nodes by
# default (CR_Pack_Nodes would give the second node a worker too many, the last one too few).
# The allocation's tasks-per-node would make srun warn about (and ignore) the uneven layout.
unset SLURM_NTASKS_PER_NODE
if [ -z "$stop" ]; then
  srun --mpi=pmix --ntasks="$NTASKS" --distribution=block,NoPack --kill-on-bad-exit=0 "$CRAMMER" run "$CONFIG" "${OVERRIDES[@]}" &
  step=$!
  if [ -n "$stop" ]; then kill -s "$stop" "$step" 2>/dev/null; fi  # arrived while starting
  # A trapped signal interrupts `wait`; wait again until srun has really ended.
  while kill -0 "$step" 2>/dev/null; do wait "$step"; done
  wait "$step"
  rc=$?
else
  rc=75  # told to stop before the sweep started: nothing to store, requeue
fi
echo "crammer-submit: crammer exited with $rc at $(date '+%F %T')"
if [ "$rc" -eq 75 ]; then
  # 75: stopped by a signal with every finished task stored; the requeued job resumes.
  if scontrol requeue "$SLURM_JOB_ID"; then
    echo "crammer-submit: requeued job $SLURM_JOB_ID; its next start resumes the sweep"
  else
    echo "crammer-submit: 'scontrol requeue $SLURM_JOB_ID' failed; submit this script again to resume" >&2
  fi
fi
exit "$rc"
)SH";
  return s.str();
}

}  // namespace crammer
