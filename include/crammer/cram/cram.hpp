// The cramming engine's entry point for workers, implemented in cram.cpp: a list of tasks for
// one loaded model in, one result row per task (grid) or per probe (capacity search) out.
// Torch-free header so the sweep and app layers can hold CramSettings without LibTorch; one
// batched run lives in cram/engine.hpp, the tensor-level pieces in cram/ops.hpp. Not for:
// planning (plan), storing (store), sharding (sweep).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crammer/config/experiment_config.hpp"
#include "crammer/model/attention.hpp"
#include "crammer/core/result.hpp"

namespace crammer {

class CausalLM;

// Everything the engine needs besides the model (whose weights fix compute dtype and device).
struct CramSettings {
  CramConfig cram;
  BatchingConfig batching;
  uint64_t seed = 0;           // run seed (runtime.seed): mem init = f(task key, seed)
  int32_t rank = 0;            // copied into TaskResult::rank
  std::string device = "cpu";  // copied into TaskResult::device
  AttentionKernel attention = AttentionKernel::automatic;  // set on the model by cram_tasks
  // Samples crammed together at most: 0 = all of a batch on a GPU, cache-sized micro-batches on
  // a CPU (cpu_micro_batch in cram/engine.hpp). Results do not depend on it.
  int64_t micro_batch = 0;
  bool save_memory = false;    // fill TaskResult::memory with the best mem [k, d]
  int64_t curves_every = 0;    // record loss/acc every this many steps (0 = none)
  bool attention_mass = false; // fill TaskResult::mem_attention (cram/mem_attention.hpp)
};

CramSettings make_cram_settings(const ExperimentConfig& config, int32_t rank,
                                const std::string& device);

// Crams every task on `model` (frozen; weights in the compute dtype on the compute device).
// Grid tasks are grouped by n_mem and length into batches of batching.batch_size; capacity-
// search tasks (cram.search bisect | progressive) run their probes in lock-step batches and
// yield one row per probe, all with the task's key, in probe order. A batch that fails is
// retried in halves (core/retry.hpp); a task that still fails alone yields a `failed` row with
// the error text. Throws crammer::Interrupted when stop_requested() is seen between steps.
std::vector<TaskResult> cram_tasks(CausalLM& model, const std::vector<Task>& tasks,
                                   const CramSettings& settings);

}  // namespace crammer
