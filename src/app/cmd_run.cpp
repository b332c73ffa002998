// `crammer run`: the sweep of DESIGN §4. Every rank reads the config; rank 0 plans, owns the
// results file and coordinates; every other rank loads models and crams the batches it pulls.
// One process does both in-process. Glue only: planning (plan), cramming (cram), the file
// (store) and the hand-out protocol (sweep) live in their layers.
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include "crammer/app/commands.hpp"
#include "crammer/config/loader.hpp"
#include "crammer/cram/cram.hpp"
#include "crammer/sweep/context.hpp"
#include "crammer/sweep/device_check.hpp"
#include "crammer/sweep/device_map.hpp"
#include "crammer/sweep/mpi_session.hpp"
#include "crammer/sweep/sweep.hpp"
#include "crammer/model/causal_lm.hpp"
#include "crammer/plan/planner.hpp"
#include "crammer/plan/preflight.hpp"
#include "crammer/store/results_writer.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/interrupt.hpp"
#include "crammer/util/log.hpp"
#include "crammer/version.hpp"
#include "devices.hpp"
#include "entry_model.hpp"
#include "options.hpp"

namespace crammer {
namespace {

// Holds one model at a time: a worker keeps the model it has while the coordinator sends it
// tasks of that model (it prefers them), and swaps only when it must.
class CramBackend : public WorkerBackend {
 public:
  CramBackend(const ExperimentConfig& config, const DistContext& ctx)
      : config_(config), settings_(make_cram_settings(config, ctx.rank, ctx.device)), device_(ctx.device) {}

  std::vector<TaskResult> run(const std::vector<Task>& batch) override {
    std::vector<TaskResult> rows;
    // Batches are normally of one model; group defensively in config order.
    for (int32_t m = 0; m < static_cast<int32_t>(config_.models.size()); ++m) {
      std::vector<Task> part;
      for (const auto& t : batch)
        if (t.model_index == m) part.push_back(t);
      if (part.empty()) continue;
      CausalLM& model = hold(m);
      auto r = cram_tasks(model, part, settings_);
      rows.insert(rows.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    return rows;
  }
  int32_t held_model() const override { return held_; }
  // Batches run on a thread of their own (sweep's ComputeThread): OpenMP's thread count is
  // per thread, so it takes the rank's setting again there.
  void on_compute_thread() override { at::init_num_threads(); }

 private:
  CausalLM& hold(int32_t index) {
    if (held_ != index) {
      model_.reset();  // free the old weights before loading the new ones
      const auto& entry = config_.models.at(index);
      auto t0 = std::chrono::steady_clock::now();
      try {
        model_ = load_entry_model(entry, torch::Device(device_));
      } catch (const std::exception& e) {
        // Every task of this model would fail the same way: stop the run, not a failed row each.
        throw StopRunError("model '" + entry.name + "' (models." + std::to_string(index) + ".path " + entry.path +
                           ") cannot be used on " + device_ + ": " + e.what());
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("loaded model {} ({}) in {:.2f} s", entry.name, entry.path, secs);
      held_ = index;
    }
    return *model_;
  }

  const ExperimentConfig& config_;
  CramSettings settings_;
  std::string device_;
  std::shared_ptr<CausalLM> model_;
  int32_t held_ = -1;
};

// Rank 0's sink: every row goes through the journal (fsync) before store() returns.
class WriterSink : public ResultSink {
 public:
  explicit WriterSink(ResultsWriter& writer) : writer_(writer) {}
  void store(const TaskResult& result) override { writer_.append({result}); }
  void store_batch(const std::vector<TaskResult>& rows) override { writer_.append(rows); }
  void flush() override { writer_.flush(); }

 private:
  ResultsWriter& writer_;
};

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
  return buf;
}

// What the results file records about this run (DESIGN §5: provenance attributes).
RunInfo run_info(const ExperimentConfig& config, const std::string& command_line, const std::vector<std::string>& hosts) {
  RunInfo run;
  run.config_yaml = to_yaml(config);
  run.config_fingerprint = config_fingerprint(config);
  run.command_line = command_line;
  run.start_time = now_iso8601();
  run.hosts = hosts;
  std::istringstream versions(version_text());  // "<Library> <version>" lines -> version_<library>
  for (std::string line; std::getline(versions, line);) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp);
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    run.versions[key] = line.substr(sp + 1);
  }
  run.versions["git_commit"] = CRAMMER_GIT_COMMIT;
  return run;
}

// One warning per node whose workers share GPUs (said by the node's first worker).
void warn_if_gpus_shared(const DistContext& ctx, const DistOptions& dopts) {
  if (ctx.device_index < 0) return;
  const DeviceMapInput in = device_map_input(ctx, dopts);
  const bool coordinator_here = ctx.size > 1 && ctx.node_ranks.front() == 0;
  const bool first_worker = ctx.node_ranks[coordinator_here ? 1 : 0] == ctx.rank;
  // srun --gpus-per-task: each rank sees only its own GPU(s), so the counts say nothing.
  if (!first_worker || !node_oversubscribed(in) || std::getenv("SLURM_GPUS_PER_TASK")) return;
  const int workers = node_workers(in);
  const int gpus = dopts.fixed_device >= 0 ? 1 : dopts.visible_gpus;
  spdlog::warn("host {}: {} workers share {} GPU(s), up to {} per GPU, each with its own model copy: slower "
               "than one worker per GPU (on a node with G GPUs start G workers, G + 1 ranks with the coordinator)",
               ctx.host, workers, gpus, (workers + gpus - 1) / gpus);
}

// The LibTorch probe of the startup device check: small, exact in f32, on the rank's device.
DeviceProbe torch_probe(const std::string& device) {
  DeviceProbe p;
  p.what = "sum(ones(64,64) @ ones(64,64))";
  p.expected = 64.0 * 64 * 64;  // 4096 entries of 64: exact in f32
  p.run = [device] {
    auto ones = torch::ones({64, 64}, torch::TensorOptions().dtype(torch::kFloat32).device(torch::Device(device)));
    return ones.mm(ones).sum().item<double>();  // [64, 64] @ [64, 64] -> scalar, synchronises the device
  };
  return p;
}

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  bool fresh = false;
  bool keep_failed = false;
  std::string progress = "auto";
  double grace_seconds = 30;
  double progress_seconds = 30;
  std::string command_line;
};

int run_sweep_command(const RunArgs& a) {
  // Every rank reads the same config; a bad one fails identically everywhere.
  ExperimentConfig config = load_config(a.config, a.overrides);
  const int rank = world_rank(), size = world_size();
  DistOptions dopts = device_options(config.runtime.device, size == 1 || rank != 0);
  DistContext ctx = make_dist_context(dopts);
  init_logging(config.runtime.log_level, ctx.size > 1 ? ctx.rank : -1);
  at::set_num_threads(threads_per_rank(static_cast<int>(config.runtime.threads), ctx.local_size));
  warn_if_gpus_shared(ctx, dopts);

  // Before any planning or work: every worker's device computes and the devices can talk.
  try {
    const DeviceProbe probe = torch_probe(ctx.device);
    DeviceCheckResult check = check_devices(ctx, probe);
    if (ctx.coordinator())
      spdlog::info("device check passed: {} worker(s) on {} computed {} = {}; all-reduce over {}{}: {}",
                   check.workers, config.runtime.device, probe.what, probe.expected, check.transport,
                   check.nccl_groups > 1 ? " in " + std::to_string(check.nccl_groups) + " groups" : "", check.sum);
  } catch (const DeviceCheckError& e) {
    if (ctx.coordinator()) throw;  // rank 0 reports every failing rank, then stops the job
    return e.exit_code();          // the others stop quietly: nothing was handed out
  } catch (const DistError& e) {
    // A failed MPI/NCCL/CUDA call inside the check: this rank alone knows; the caller aborts MPI.
    throw DeviceCheckError(std::string("device check: ") + e.what());
  }

  auto hosts = gather_hosts(ctx);
  std::vector<Task> tasks;
  std::unique_ptr<ResultsWriter> writer;
  SweepOptions sopts;
  sopts.batch_size = static_cast<size_t>(config.batching.batch_size);
  sopts.flush_seconds = config.output.flush_seconds;
  sopts.grace_seconds = a.grace_seconds;
  sopts.heartbeat_seconds = config.runtime.heartbeat_seconds;
  sopts.worker_timeout_seconds = config.runtime.worker_timeout_seconds;
  sopts.progress.mode = parse_progress_mode(a.progress);
  sopts.progress.log_seconds = a.progress_seconds;
  for (const auto& m : config.models) sopts.progress.model_names.push_back(m.name);

  // Rank 0 plans and opens the file; a failure there must not leave workers waiting.
  const int plan_code = coordinator_step(ctx, [&] {
    preflight_models(config);
    Plan plan = make_plan(config);
    preflight_init_mem(config, plan);
    for (const auto& note : plan.notes) spdlog::warn("plan: {}", note);
    const RunInfo run = run_info(config, a.command_line, hosts);
    auto parent = std::filesystem::path(config.output.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) throw ConfigError("output.path: cannot create directory '" + parent.string() + "': " + ec.message());
    writer = std::make_unique<ResultsWriter>();
    writer->open(config.output.path, run, plan.models, plan.samples, a.fresh ? OpenMode::fresh : OpenMode::resume);
    const std::set<std::string> done = writer->finished_keys(a.keep_failed);
    std::vector<TaskResult> skipped;
    for (auto& s : plan.skipped)
      if (!writer->has_row(s.task_key, s.length)) skipped.push_back(s);
    if (!skipped.empty()) writer->append(skipped);
    size_t total = plan.tasks.size();
    for (auto& t : plan.tasks)
      if (!done.count(t.key)) tasks.push_back(std::move(t));
    spdlog::info("plan: {} tasks ({} already stored, {} to run), {} skipped rows; results -> {}", total,
                 total - tasks.size(), tasks.size(), plan.skipped.size(), config.output.path);
    if (const size_t failed = writer->failed_tasks(); failed > 0)
      spdlog::info("{} task(s) stored as failed {}", failed,
                   a.keep_failed ? "are kept (--keep-failed)"
                                 : "run again; their old rows are marked superseded once the new ones are stored");
  });
  if (plan_code != 0) return plan_code;  // a worker; the coordinator has rethrown

  CramBackend backend(config, ctx);
  std::unique_ptr<WriterSink> sink;
  if (writer) sink = std::make_unique<WriterSink>(*writer);
  SweepOutcome outcome = run_sweep(ctx, std::move(tasks), backend, sink.get(), sopts);

  if (ctx.coordinator()) {
    writer->close();
    spdlog::info("sweep {}: {} done, {} failed, {} unfinished in {:.1f} s; results in {}",
                 outcome.completed ? "complete" : (outcome.interrupted ? "interrupted" : "stopped"),
                 outcome.counts.tasks_done, outcome.counts.tasks_failed, outcome.counts.tasks_unfinished,
                 outcome.seconds, config.output.path);
  }
  // Every rank enters MPI_Finalize only after the file is closed and every worker is done.
  release_workers(ctx, outcome);
  await_release(ctx);
  if (!outcome.fatal_error.empty()) {
    if (ctx.coordinator())
      std::cerr << "crammer run: error: " << outcome.fatal_error
                << "\nThe rows stored so far are kept; fix the cause and rerun the same command to go on.\n";
    return StopRunError("").exit_code();
  }
  if (outcome.no_workers_left) {
    if (ctx.coordinator())
      spdlog::error("every worker was lost; every finished result is stored. Rerun the same command to resume.");
    return kExitInterrupted;
  }
  if (outcome.interrupted) {
    if (ctx.coordinator())
      spdlog::warn("stopped by signal {}; every finished result is stored. Rerun the same command to resume.",
                   outcome.stop_signal);
    if (outcome.abort_needed()) abort_world(kExitInterrupted);
    return kExitInterrupted;
  }
  return 0;
}

}  // namespace

int cmd_run(const Args& args) {
  po::options_description desc("options");
  desc.add_options()("fresh", po::bool_switch(), "replace an existing results file instead of resuming it")(
      "keep-failed", po::bool_switch(), "on resume, do not run again the tasks stored as failed")(
      "progress", po::value<std::string>()->default_value("auto"), "progress display: auto | bar | log | off")(
      "progress-seconds", po::value<double>()->default_value(30), "interval of progress log lines")(
      "grace-seconds", po::value<double>()->default_value(30),
      "after SIGTERM/USR1/USR2: how long rank 0 waits for in-flight results before exiting 75");
  po::options_description hidden;
  hidden.add_options()("config", po::value<std::string>()->required(), "config file")(
      "overrides", po::value<std::vector<std::string>>()->multitoken(), "a.b=v overrides");
  po::positional_options_description pos;
  pos.add("config", 1).add("overrides", -1);
  po::variables_map vm;
  if (!parse_command_line("run", "CONFIG.yaml [a.b=v ...] [options]", desc, pos, args, vm, hidden)) return 0;

  RunArgs a;
  a.config = vm["config"].as<std::string>();
  if (vm.count("overrides")) a.overrides = vm["overrides"].as<std::vector<std::string>>();
  a.fresh = vm["fresh"].as<bool>();
  a.keep_failed = vm["keep-failed"].as<bool>();
  a.progress = vm["progress"].as<std::string>();
  a.progress_seconds = vm["progress-seconds"].as<double>();
  a.grace_seconds = vm["grace-seconds"].as<double>();
  a.command_line = "crammer run";
  for (const auto& w : args) a.command_line += " " + w;

  // install_stop_handlers after MPI_Init: ours must be the handlers that count.
  return run_with_mpi("crammer run", install_stop_handlers, [&] { return run_sweep_command(a); });
}

}  // namespace crammer
