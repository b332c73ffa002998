// Unit tests of the `crammer submit` library: --time parsing, option validation messages, the
// rendered #SBATCH lines and rank arithmetic, the rank layout against the device rule
// (sweep/device_map.hpp), shell quoting (checked by running bash on the script), results paths
// from the config, and the golden examples in slurm/*.sbatch. No cluster:
// tests/slurm/slurm_tests.py submits real jobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crammer/slurm/cli.hpp"
#include "crammer/slurm/options.hpp"
#include "crammer/slurm/render.hpp"
#include "crammer/slurm/submit.hpp"
#include "crammer/sweep/device_map.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p);
  f << text;
}

// Runs a shell command, returns its stdout (and exit status through *status).
std::string shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  int rc = p ? pclose(p) : -1;
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

// NAME, fresh, in this process's temp dir (removed at exit).
fs::path temp_dir(const std::string& name) {
  static const test::TempDir root("submit");
  return root.dir(name);
}

// The message of the ConfigError that `fn` throws ("" if none).
template <class F>
std::string config_error(F fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

SubmitOptions base() {
  SubmitOptions o;
  o.config_path = "experiments/tiny.yaml";
  return o;
}

TEST(SlurmTime, ParsesBothFormats) {
  EXPECT_EQ(parse_slurm_time("01:00:00"), 3600);
  EXPECT_EQ(parse_slurm_time("00:00:45"), 45);
  EXPECT_EQ(parse_slurm_time("48:00:00"), 48 * 3600);
  EXPECT_EQ(parse_slurm_time("2-00:30:00"), 2 * 86400 + 30 * 60);
  EXPECT_EQ(parse_slurm_time("0-23:59:59"), 86399);
}

TEST(SlurmTime, RejectsOtherShapesNamingTheOption) {
  for (const char* bad : {"1:00", "60", "00:60:00", "00:00:61", "1-24:00:00", "abc", "00:00:00", "1-2:3:4", ""}) {
    std::string msg = config_error([&] { parse_slurm_time(bad); });
    EXPECT_NE(msg.find("--time"), std::string::npos) << "'" << bad << "' -> '" << msg << "'";
  }
}

TEST(SubmitValidate, MessagesNameTheOptionAndValue) {
  struct Case {
    void (*edit)(SubmitOptions&);
    const char* expect;
  };
  const Case cases[] = {
      {[](SubmitOptions& o) { o.nodes = 0; }, "--nodes 0: must be >= 1"},
      {[](SubmitOptions& o) { o.gpus_per_node = -1; }, "--gpus-per-node -1"},
      {[](SubmitOptions& o) { o.ranks_per_node = 0; }, "--ranks-per-node 0"},
      {[](SubmitOptions& o) { o.gpu_flag = "gpu"; }, "--gpu-flag 'gpu'"},
      {[](SubmitOptions& o) { o.time = "5 min"; }, "--time '5 min'"},
      {[](SubmitOptions& o) {
         o.time = "00:05:00";
         o.signal_seconds = 300;
       },
       "--signal-seconds 300 >= --time 00:05:00 (300 s)"},
      {[](SubmitOptions& o) { o.signal_seconds = 70000; }, "--signal-seconds 70000: must be 0..65535"},
      {[](SubmitOptions& o) { o.job_name = "my job"; }, "--job-name 'my job'"},
      {[](SubmitOptions& o) { o.partition = "gpu a"; }, "--partition: 'gpu a' contains whitespace"},
      {[](SubmitOptions& o) { o.output_log = "my log.out"; }, "--log: 'my log.out'"},
      {[](SubmitOptions& o) { o.overrides = {"cram.n_mem"}; }, "override 'cram.n_mem': expected a.b=value"},
      {[](SubmitOptions& o) { o.extra_sbatch_args = {"qos=high"}; }, "--sbatch-arg 'qos=high'"},
      {[](SubmitOptions& o) { o.config_path.clear(); }, "no config file given"},
      {[](SubmitOptions& o) { o.array_configs = {"a.yaml", "b.yaml"}; }, "either one config or an array"},
      {[](SubmitOptions& o) {
         o.config_path.clear();
         o.array_configs = {"a.yaml", "b.yaml"};
         o.overrides = {"output.path=x.h5"};
       },
       "override output.path=x.h5: an array of 2 configs would all write one results file"},
  };
  for (const auto& c : cases) {
    SubmitOptions o = base();
    c.edit(o);
    std::string msg = config_error([&] { validate_submit_options(o); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in '" << msg << "'";
  }
  EXPECT_EQ(config_error([] { validate_submit_options(base()); }), "");
}

bool has_line(const std::string& script, const std::string& line) {
  std::istringstream in(script);
  std::string l;
  while (std::getline(in, l)) {
    if (l == line) return true;
  }
  return false;
}

TEST(SubmitRender, OneWorkerRankPerGpuPlusTheCoordinator) {
  SubmitOptions o = base();
  o.nodes = 2;
  o.gpus_per_node = 8;
  std::string s = render_sbatch(o);
  EXPECT_TRUE(has_line(s, "#SBATCH --nodes=2")) << s;
  EXPECT_TRUE(has_line(s, "NTASKS=17  # 2 x 8 workers + 1 coordinator"));
  EXPECT_TRUE(has_line(s, "#SBATCH --ntasks-per-node=9"));
  EXPECT_TRUE(has_line(s, "#SBATCH --gpus-per-node=8"));
  EXPECT_TRUE(has_line(s, "#SBATCH --requeue"));
  EXPECT_TRUE(has_line(s, "#SBATCH --open-mode=append"));
  EXPECT_TRUE(has_line(s, "#SBATCH --signal=B:USR1@300"));
  EXPECT_TRUE(has_line(s, "#SBATCH --output=slurm-crammer-%j.out"));
  EXPECT_EQ(s.find("--array"), std::string::npos);
  EXPECT_NE(s.find("srun --mpi=pmix --ntasks=\"$NTASKS\""), std::string::npos);
  EXPECT_NE(s.find("scontrol requeue \"$SLURM_JOB_ID\""), std::string::npos);

  o.gpu_flag = "gres";
  s = render_sbatch(o);
  EXPECT_TRUE(has_line(s, "#SBATCH --gres=gpu:8"));
  EXPECT_EQ(s.find("--gpus-per-node"), std::string::npos);
}

TEST(SubmitRender, CpuRanksWhenNoGpus) {
  SubmitOptions o = base();
  o.nodes = 3;
  o.ranks_per_node = 4;
  o.signal_seconds = 0;
  o.partition = "cpu";
  o.account = "proj42";
  o.extra_sbatch_args = {"--qos=high", "--mem=0"};
  std::string s = render_sbatch(o);
  EXPECT_TRUE(has_line(s, "NTASKS=13  # 3 x 4 workers + 1 coordinator"));
  EXPECT_TRUE(has_line(s, "#SBATCH --ntasks-per-node=5"));
  EXPECT_TRUE(has_line(s, "#SBATCH --partition=cpu"));
  EXPECT_TRUE(has_line(s, "#SBATCH --account=proj42"));
  EXPECT_TRUE(has_line(s, "#SBATCH --qos=high"));
  EXPECT_TRUE(has_line(s, "#SBATCH --mem=0"));
  EXPECT_EQ(s.find("gpu"), std::string::npos);
  EXPECT_EQ(s.find("#SBATCH --signal"), std::string::npos);
}

// The number that follows `key` at the start of a line of the script; -1 if no line has it.
int number_after(const std::string& script, const std::string& key) {
  std::istringstream in(script);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(key, 0) == 0) return std::stoi(l.substr(key.size()));
  return -1;
}

// Tasks per node of a Slurm step with block distribution (src/common/slurm_step_layout.c,
// _task_layout_block), every node having `slots` CPUs for tasks. Not packed (Slurm's default,
// or --distribution=block,NoPack): the counts go round robin over the nodes, each up to its
// slots, so the tasks spread evenly. Packed (SelectTypeParameters=CR_Pack_Nodes, or
// --distribution=block,Pack): node 0 is filled to its slots, then node 1, and so on. Either way
// the ranks then fill the nodes in order.
std::vector<int> slurm_block_counts(int ntasks, int nodes, int slots, bool pack) {
  EXPECT_LE(ntasks, nodes * slots) << "more tasks than the allocation has slots";
  std::vector<int> counts(static_cast<size_t>(nodes), 0);
  int placed = 0;
  if (pack) {
    for (auto& c : counts) {
      c = std::min(slots, ntasks - placed);
      placed += c;
    }
  } else {
    for (int round = 0; placed < ntasks && round < slots; ++round)
      for (int n = 0; n < nodes && placed < ntasks; ++n, ++placed) ++counts[static_cast<size_t>(n)];
  }
  return counts;
}

TEST(SlurmLayoutModel, MatchesTheSrunManPage) {
  // srun(1), --distribution block: "three nodes each with two cpus. A four-task block
  // distribution request will distribute those tasks to the nodes with tasks one and two on the
  // first node, task three on the second node, and task four on the third node."
  EXPECT_EQ(slurm_block_counts(4, 3, 2, false), (std::vector<int>{2, 1, 1}));
  EXPECT_EQ(slurm_block_counts(4, 3, 2, true), (std::vector<int>{2, 2, 0}));
}

// What the script asks of srun, laid out as Slurm does, then each rank's device by the rule of
// `crammer run` with the node's GPUs visible: every GPU of every node runs exactly one worker,
// rank 0 none. Where the script does not pin the layout (NoPack), the packed layout a site may
// configure must work too.
TEST(SubmitRender, RankLayoutGivesEveryGpuExactlyOneWorker) {
  for (int nodes : {1, 2, 3}) {
    for (int gpus : {1, 2, 4, 8}) {
      SubmitOptions o = base();
      o.nodes = nodes;
      o.gpus_per_node = gpus;
      const std::string s = render_sbatch(o);
      SCOPED_TRACE(std::to_string(nodes) + " node(s) x " + std::to_string(gpus) + " GPU(s)");
      const int ntasks = number_after(s, "NTASKS=");
      const int slots = number_after(s, "#SBATCH --ntasks-per-node=");
      ASSERT_GT(ntasks, 0) << s;
      ASSERT_GT(slots, 0) << s;
      EXPECT_TRUE(has_line(s, "#SBATCH --nodes=" + std::to_string(nodes)));
      EXPECT_TRUE(has_line(s, "#SBATCH --gpus-per-node=" + std::to_string(gpus)));
      const bool no_pack = s.find("srun --mpi=pmix --ntasks=\"$NTASKS\" --distribution=block,NoPack ") != std::string::npos;
      std::vector<bool> layouts = {false};
      if (!no_pack) layouts.push_back(true);
      for (bool pack : layouts) {
        SCOPED_TRACE(pack ? "packed layout" : "even layout");
        const auto counts = slurm_block_counts(ntasks, nodes, slots, pack);
        int rank = 0;
        for (int n = 0; n < nodes; ++n) {
          DeviceMapInput in;
          in.world_size = ntasks;
          in.visible_gpus = gpus;  // --gpus-per-node: every task sees the node's GPUs
          for (int i = 0; i < counts[static_cast<size_t>(n)]; ++i) in.node_ranks.push_back(rank++);
          std::vector<int> workers_per_gpu(static_cast<size_t>(gpus), 0);
          for (int r : in.node_ranks) {
            in.rank = r;
            const int d = map_device(in);
            if (r == 0) {
              EXPECT_EQ(d, -1) << "the coordinator got a GPU";
              continue;
            }
            ASSERT_GE(d, 0);
            ASSERT_LT(d, gpus);
            ++workers_per_gpu[static_cast<size_t>(d)];
          }
          EXPECT_EQ(workers_per_gpu, std::vector<int>(static_cast<size_t>(gpus), 1)) << "node " << n;
        }
        EXPECT_EQ(rank, ntasks);
      }
    }
  }
}

// Runs `bash -n` on the script and prints one of its variables as bash itself parses it.
std::string bash_values(const std::string& script, const std::string& array_name, int* status) {
  fs::path d = temp_dir("bash");
  write_file(d / "job.sh", script);
  int syntax = 0;
  std::string err = shell("bash -n " + (d / "job.sh").string() + " 2>&1", &syntax);
  EXPECT_EQ(syntax, 0) << err;
  // Only the assignments: everything up to the first echo.
  std::string head = script.substr(0, script.find("\necho "));
  write_file(d / "head.sh", head + "\nprintf '<%s>\\n' \"${" + array_name + "[@]}\"\n");
  std::string out = shell("SLURM_ARRAY_TASK_ID=1 bash " + (d / "head.sh").string(), status);
  return out;
}

TEST(SubmitRender, WordsSurviveShellQuoting) {
  SubmitOptions o = base();
  o.config_path = "dir with space/it's.yaml";
  o.overrides = {"models.0.name=a b", "output.path=x'y\".h5", "cram.lengths=[8, 16]", "x=$HOME`id`"};
  int status = 0;
  std::string values = bash_values(render_sbatch(o), "OVERRIDES", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(values, "<models.0.name=a b>\n<output.path=x'y\".h5>\n<cram.lengths=[8, 16]>\n<x=$HOME`id`>\n");
  values = bash_values(render_sbatch(o), "CONFIG", &status);
  EXPECT_EQ(values, "<dir with space/it's.yaml>\n");
}

TEST(SubmitRender, ArrayPicksTheConfigOfTheTask) {
  SubmitOptions o;
  o.array_configs = {"a.yaml", "b.yaml", "c.yaml"};
  std::string s = render_sbatch(o);
  EXPECT_TRUE(has_line(s, "#SBATCH --array=0-2"));
  EXPECT_TRUE(has_line(s, "#SBATCH --output=slurm-crammer-%A_%a.out"));
  int status = 0;
  // bash_values runs the assignments with SLURM_ARRAY_TASK_ID=1.
  EXPECT_EQ(bash_values(s, "CONFIG", &status), "<b.yaml>\n");
  EXPECT_EQ(status, 0);
}

TEST(SubmitResults, FromOutputPathOfEachConfigOverrideWins) {
  fs::path d = temp_dir("results");
  write_file(d / "a.yaml", "output:\n  path: out/a.h5\n");
  write_file(d / "b.yaml", "output: {path: /abs/b.h5}\n");
  write_file(d / "c.yaml", "models: []\n");
  write_file(d / "bad.yaml", "output: [unclosed\n");
  SubmitOptions o;
  o.workdir = "/work/dir";
  o.config_path = (d / "a.yaml").string();
  EXPECT_EQ(results_paths(o), std::vector<std::string>{"/work/dir/out/a.h5"});
  o.overrides = {"output.path=elsewhere/x.h5", "output.path=last.h5"};
  EXPECT_EQ(results_paths(o), std::vector<std::string>{"/work/dir/last.h5"});
  o.overrides.clear();
  o.config_path.clear();
  o.array_configs = {(d / "a.yaml").string(), (d / "b.yaml").string(), (d / "c.yaml").string()};
  EXPECT_EQ(results_paths(o),
            (std::vector<std::string>{"/work/dir/out/a.h5", "/abs/b.h5", "/work/dir/results/quickstart.h5"}));

  o.array_configs = {(d / "a.yaml").string(), (d / "a.yaml").string()};
  EXPECT_NE(config_error([&] { results_paths(o); }).find("both write output.path /work/dir/out/a.h5"),
            std::string::npos);
  o.array_configs = {(d / "bad.yaml").string()};
  EXPECT_NE(config_error([&] { results_paths(o); }).find((d / "bad.yaml").string() + ": invalid YAML"),
            std::string::npos);
}

TEST(SubmitResolve, AbsolutePathsAndMissingConfig) {
  fs::path d = temp_dir("resolve");
  write_file(d / "sweep.yaml", "output: {path: r.h5}\n");
  fs::path old = fs::current_path();
  fs::current_path(d);
  SubmitOptions o;
  o.config_path = "sweep.yaml";
  o.crammer_binary = "bin/crammer";
  SubmitOptions r = resolve_submit_options(o);
  EXPECT_EQ(r.config_path, (d / "sweep.yaml").string());
  EXPECT_EQ(r.workdir, d.string());
  EXPECT_EQ(r.crammer_binary, (d / "bin/crammer").string());
  EXPECT_EQ(r.results_path, (d / "r.h5").string());
  std::string script = render_sbatch(r);
  EXPECT_TRUE(has_line(script, "#SBATCH --chdir=" + d.string()));

  o.config_path = "missing.yaml";
  EXPECT_NE(config_error([&] { resolve_submit_options(o); }).find((d / "missing.yaml").string() + ": no such file"),
            std::string::npos);
  fs::current_path(old);
}

// slurm/*.sbatch are renders of these options: the examples docs/slurm.md shows must be what
// `crammer submit --dry-run` prints. CRAMMER_UPDATE_GOLDEN=1 rewrites them.
TEST(SubmitGolden, ExamplesInSlurmDirMatchTheRenderer) {
  struct Example {
    const char* file;
    SubmitOptions opts;
  };
  SubmitOptions single;
  single.config_path = "experiments/llama-3.2-1b.yaml";
  single.gpus_per_node = 4;
  single.time = "24:00:00";
  single.job_name = "llama-1b";
  single.partition = "gpu";

  SubmitOptions multi;
  multi.config_path = "experiments/pythia-scaling.yaml";
  multi.overrides = {"cram.optimizer.lr=0.005"};
  multi.nodes = 4;
  multi.gpus_per_node = 8;
  multi.time = "2-00:00:00";
  multi.signal_seconds = 600;
  multi.job_name = "pythia-scaling";
  multi.setup_lines = {"module load openmpi cuda"};

  SubmitOptions array;
  array.array_configs = {"experiments/pythia-160m.yaml", "experiments/pythia-410m.yaml"};
  array.gpus_per_node = 2;
  array.time = "12:00:00";
  array.job_name = "pythia-array";

  SubmitOptions cpu;
  cpu.config_path = "experiments/tiny.yaml";
  cpu.ranks_per_node = 1;
  cpu.time = "00:10:00";
  cpu.signal_seconds = 60;
  cpu.job_name = "tiny-cpu";

  const Example examples[] = {{"single-node.sbatch", single},
                              {"multi-node.sbatch", multi},
                              {"array.sbatch", array},
                              {"cpu.sbatch", cpu}};
  const bool update = std::getenv("CRAMMER_UPDATE_GOLDEN") != nullptr;
  for (const auto& e : examples) {
    fs::path golden = fs::path(CRAMMER_SOURCE_DIR) / "slurm" / e.file;
    std::string rendered = render_sbatch(e.opts);
    if (update) write_file(golden, rendered);
    EXPECT_EQ(read_file(golden), rendered)
        << golden << " differs from the renderer; if the change is meant, rerun with CRAMMER_UPDATE_GOLDEN=1";
  }
}

}  // namespace
}  // namespace crammer
