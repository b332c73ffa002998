// `crammer export` and `crammer status` helpers: CSV header, values checked by Python's csv
// module against h5py's reading of the same file, and the status counts.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "crammer/store/export.hpp"
#include "crammer/store/results_reader.hpp"
#include "crammer/store/status.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

const char* kHeader =
    "task_key,model_index,model,sample_id,n_mem,length,status,restart,n_tokens,n_targets,baseline_loss,"
    "baseline_acc,best_acc,best_loss,steps,steps_to_best,converged,info_gain_nats,info_gain_bits,"
    "token_gain,decode_exact,decode_prefix,capacity,n_bytes,gain_bound_nats,steps_to_acc95,"
    "steps_to_acc99,steps_to_acc100,decode_acc,copy_loss,copy_acc,grown_from,wall_seconds,rank,device,error,memory_k,"
    "memory_d,curve_length,mem_attention_length";

std::string write_file(const test::TempDir& dir, int n) {
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  w.open(path, test::make_run(), test::make_models(), test::make_samples());
  std::vector<TaskResult> rows;
  for (int i = 0; i < n; ++i) rows.push_back(test::make_row(i));
  w.append(rows);
  return path;
}

TEST(Export, HeaderAndPlainRow) {
  test::TempDir dir;
  const std::string path = write_file(dir, 3);
  std::ostringstream out;
  write_csv(path, out);
  std::istringstream in(out.str());
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header, kHeader);
  // row 0: model demo, done, no error; doubles must read back exactly
  TaskResult r = test::make_row(0);
  std::vector<std::string> f;
  std::stringstream ss(first);
  for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
  ASSERT_EQ(f.size(), 40u) << first;
  std::vector<std::string> want = {r.task_key, "0", "demo", "1000", "1", "16", "done", "0", "16", "15"};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(f[i], want[i]) << "column " << i;
  EXPECT_EQ(std::stod(f[10]), r.baseline_loss);
  EXPECT_EQ(std::stod(f[11]), r.baseline_acc);
  EXPECT_EQ(std::stod(f[12]), r.best_acc);
  EXPECT_EQ(std::stod(f[13]), r.best_loss);
  EXPECT_EQ(f[14], "100");
  EXPECT_EQ(f[15], "50");
  EXPECT_EQ(f[16], "true");
  EXPECT_EQ(std::stod(f[17]), r.info_gain_nats);
  EXPECT_EQ(std::stod(f[18]), r.info_gain_bits);
  EXPECT_EQ(f[19], "-7");
  EXPECT_EQ(f[20], "false");
  EXPECT_EQ(f[21], "0");
  EXPECT_EQ(f[22], std::to_string(r.capacity));
  EXPECT_EQ(f[23], std::to_string(r.n_bytes));
  EXPECT_EQ(std::stod(f[24]), r.gain_bound_nats);
  EXPECT_EQ(f[25], std::to_string(r.steps_to_acc95));
  EXPECT_EQ(f[26], std::to_string(r.steps_to_acc99));
  EXPECT_EQ(f[27], std::to_string(r.steps_to_acc100));
  EXPECT_EQ(std::stod(f[28]), r.decode_acc);
  EXPECT_EQ(std::stod(f[29]), r.copy_loss);
  EXPECT_EQ(std::stod(f[30]), r.copy_acc);
  EXPECT_EQ(f[31], std::to_string(r.grown_from));
  EXPECT_EQ(std::stod(f[32]), r.wall_seconds);
  EXPECT_EQ(f[33], "0");
  EXPECT_EQ(f[34], "cuda:0");
  EXPECT_EQ(f[35], "");
  EXPECT_EQ(f[36], "0");  // no memory stored for this row
  EXPECT_EQ(f[37], "0");
  EXPECT_EQ(f[38], "0");
}

TEST(Export, CsvValuesEqualH5pyValues) {
  test::TempDir dir;
  const std::string path = write_file(dir, 12);
  const std::string csv_path = dir.file("r.csv");
  {
    std::ofstream f(csv_path);
    write_csv(path, f);
  }
  const char* script = R"PY(
import sys, csv, h5py
f = h5py.File(sys.argv[1], "r")
x = f["results"][:]
names = {int(m["model_index"]): (m["name"].decode() if isinstance(m["name"], bytes) else m["name"]) for m in f["models"][:]}
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(x), (len(rows), len(x))
for c, h in zip(rows, x):
    assert c["model"] == names[int(h["model_index"])]
    assert c["status"] == h["status_name"].decode()
    for k in ["task_key", "device", "error"]:
        assert c[k] == h[k].decode(), (k, c[k], h[k])
    for k in ["model_index", "sample_id", "n_mem", "length", "n_tokens", "n_targets", "steps", "steps_to_best", "token_gain", "decode_prefix", "capacity", "rank", "memory_k", "memory_d", "curve_length"]:
        assert int(c[k]) == int(h[k]), k
    for k in ["baseline_loss", "baseline_acc", "best_acc", "best_loss", "info_gain_nats", "info_gain_bits", "wall_seconds"]:
        assert float(c[k]) == float(h[k]), (k, c[k], h[k])
    for k in ["converged", "decode_exact"]:
        assert c[k] == ("true" if h[k] else "false"), k
print("OK", len(rows), sum(1 for c in rows if "\n" in c["error"]))
)PY";
  std::string out = test::run_python(script, path + " " + csv_path);
  EXPECT_EQ(out, "OK 12 8\n");  // 8 rows carry an error with a quote, a comma and a newline
}

// Curves: one line per recorded point, steps numbered by output.curves_every of the stored
// config (every 5th step here), values as written.
TEST(Export, CurvesTableNumbersStepsByCurvesEvery) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  RunInfo run = test::make_run();
  run.config_yaml += "output:\n  curves_every: 5\n";
  ResultsWriter w;
  w.open(path, run, test::make_models(), test::make_samples());
  std::vector<TaskResult> rows;
  for (int i = 0; i < 3; ++i) rows.push_back(test::make_row(i, /*arrays=*/true));
  w.append(rows);
  w.close();
  std::ostringstream out;
  EXPECT_EQ(write_csv(path, out, "curves"), "") << "a note beside a table that has rows";
  std::string want = "task_key,length,step,loss,accuracy\n";
  for (const auto& r : rows)
    for (size_t j = 0; j < r.curve_loss.size(); ++j)
      want += r.task_key + "," + std::to_string(r.length) + "," + std::to_string(5 * j) + "," +
              fmt::format("{:.9g}", r.curve_loss[j]) +
              "," + fmt::format("{:.9g}", r.curve_acc[j]) + "\n";
  EXPECT_EQ(out.str(), want);
  EXPECT_GT(rows[2].curve_loss.size(), 1u);  // make_row(2) records 3 points
}

// An empty curves or memory table says why: the run did not record it (and which key does), or
// it did but no row is done yet.
TEST(Export, EmptyArrayTablesSayWhy) {
  test::TempDir dir;
  const std::string off = write_file(dir, 3);  // its config leaves output.curves_every and save_memory off
  std::ostringstream out;
  std::string note = write_csv(off, out, "curves");
  EXPECT_EQ(out.str(), "task_key,length,step,loss,accuracy\n");
  EXPECT_NE(note.find(off + " holds no curves: its run had output.curves_every off"), std::string::npos) << note;
  note = write_csv(off, out, "memory");
  EXPECT_NE(note.find("holds no [mem] vectors: its run had output.save_memory off (set output.save_memory=true"),
            std::string::npos) << note;
  note = write_csv(off, out, "mem_attention");
  EXPECT_NE(note.find("holds no attention mass: its run had output.attention_mass off (set "
                      "output.attention_mass=true"),
            std::string::npos) << note;

  const std::string on = dir.file("on.h5");
  RunInfo run = test::make_run();
  run.config_yaml += "output:\n  curves_every: 5\n  save_memory: true\n  attention_mass: true\n";
  ResultsWriter w;
  w.open(on, run, test::make_models(), test::make_samples());
  w.append({test::make_row(0), test::make_row(1)});  // no arrays: as rows that are not done would be
  w.close();
  note = write_csv(on, out, "curves");
  EXPECT_NE(note.find(on + " holds no curves yet: 1 done row(s) of 2"), std::string::npos) << note;
  note = write_csv(on, out, "memory");
  EXPECT_NE(note.find(on + " holds no [mem] vectors yet"), std::string::npos) << note;
  note = write_csv(on, out, "mem_attention");
  EXPECT_NE(note.find(on + " holds no attention mass yet"), std::string::npos) << note;
}

TEST(Export, ModelsAndSamplesTablesAndUnknownTable) {
  test::TempDir dir;
  const std::string path = write_file(dir, 1);
  std::ostringstream models, samples, bad;
  write_csv(path, models, "models");
  EXPECT_EQ(models.str(),
            "model_index,name,path,dtype,model_type,d_model,num_layers,vocab_size,n_params,"
            "bos_token,planned_tasks\n"
            "0,demo,models/demo,f32,gpt2,8,2,50257,123456,-1,40\n"
            "1,tiny-llama,models/tiny,bf16,llama,4,1,32000,999,128000,20\n");
  write_csv(path, samples, "samples");
  EXPECT_NE(samples.str().find("1,1,random-words,0,0,random-words,5,1 2 3 4 5,\"cat \"\"dog\"\"\nbird\""),
            std::string::npos)
      << samples.str();
  try {
    write_csv(path, bad, "mem");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("results, models, samples, curves, memory or mem_attention"),
              std::string::npos);
  }
}

TEST(Status, CountsPerModelAndPerKLength) {
  test::TempDir dir;
  const int n = 30;
  const std::string path = write_file(dir, n);
  StatusSummary s = status_summary(path);
  // Independent count from the row recipe of make_row.
  std::map<std::string, StatusCounts> by_model;
  std::map<std::pair<int32_t, int32_t>, StatusCounts> by_kl;
  for (int i = 0; i < n; ++i) {
    TaskResult r = test::make_row(i);
    auto bump = [&](StatusCounts& c) {
      (r.status == TaskStatus::done ? c.done : r.status == TaskStatus::failed ? c.failed : c.skipped)++;
    };
    bump(by_model[r.model_index == 0 ? "demo" : "tiny-llama"]);
    bump(by_kl[{r.n_mem, r.length}]);
  }
  EXPECT_EQ(s.total_rows, n);
  EXPECT_FALSE(s.active);
  EXPECT_EQ(s.all.done, 10);
  EXPECT_EQ(s.all.failed, 10);
  EXPECT_EQ(s.all.skipped, 10);
  ASSERT_EQ(s.by_model.size(), by_model.size());
  for (const auto& [name, c] : by_model) {
    EXPECT_EQ(s.by_model[name].done, c.done) << name;
    EXPECT_EQ(s.by_model[name].failed, c.failed) << name;
    EXPECT_EQ(s.by_model[name].skipped, c.skipped) << name;
  }
  ASSERT_EQ(s.by_k_length.size(), by_kl.size());
  for (const auto& [kl, c] : by_kl) {
    EXPECT_EQ(s.by_k_length[kl].done, c.done);
    EXPECT_EQ(s.by_k_length[kl].failed, c.failed);
    EXPECT_EQ(s.by_k_length[kl].skipped, c.skipped);
  }
  // Tasks stored of the plan's (make_models: 40 and 20); every row of make_row is its own task.
  EXPECT_EQ(s.all.tasks, n);
  EXPECT_EQ(s.all.planned, 60);
  EXPECT_EQ(s.by_model["demo"].tasks, 15);
  EXPECT_EQ(s.by_model["demo"].planned, 40);
  EXPECT_EQ(s.by_model["tiny-llama"].planned, 20);
  std::string text = s.text();
  EXPECT_NE(text.find(path + ": 30 rows, 30 of 60 tasks stored, no run is writing it"), std::string::npos) << text;
  EXPECT_NE(text.find("15 of 20"), std::string::npos) << text;
  EXPECT_NE(text.find("tiny-llama"), std::string::npos) << text;
}

TEST(Status, ActiveWhileAWriterHoldsTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  w.open(path, test::make_run(), test::make_models(), test::make_samples());
  w.append({test::make_row(0)});
  w.flush();
  StatusSummary s = status_summary(path);
  EXPECT_TRUE(s.active);
  EXPECT_EQ(s.total_rows, 1);
}

}  // namespace
}  // namespace crammer
