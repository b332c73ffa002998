// Round trip of every field through a results file: C++ reader and h5py (independent reader).
#include <gtest/gtest.h>

#include "crammer/store/results_reader.hpp"
#include "crammer/store/results_writer.hpp"
#include "store_test_util.hpp"

namespace crammer {
namespace {

using test::make_row;

TEST(RoundTrip, EveryFieldOfRowsModelsSamplesAndProvenance) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::vector<TaskResult> rows;
  for (int i = 0; i < 23; ++i) rows.push_back(make_row(i, true));
  rows[3].memory.clear();  // a row without arrays
  rows[3].curve_loss.clear();
  rows[3].curve_acc.clear();
  rows[3].mem_attention.clear();
  rows[3].d_model = 0;
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    EXPECT_EQ(w.append({rows.begin(), rows.begin() + 10}), 10u);
    w.flush();
    EXPECT_EQ(w.append({rows.begin() + 10, rows.end()}), 13u);
    EXPECT_EQ(w.row_count(), 23u);
    w.close();
  }
  ResultsReader r(path, {true, true, true});
  EXPECT_EQ(r.schema_version(), 1);
  ASSERT_EQ(r.rows().size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    test::expect_same(r.rows()[i], rows[i], true);
  }
  const RunInfo want = test::make_run();
  EXPECT_EQ(r.run().config_yaml, want.config_yaml);
  EXPECT_EQ(r.run().config_fingerprint, want.config_fingerprint);
  EXPECT_EQ(r.run().command_line, want.command_line);
  EXPECT_EQ(r.run().start_time, want.start_time);
  EXPECT_EQ(r.run().hosts, want.hosts);
  EXPECT_EQ(r.run().versions, want.versions);

  auto models = test::make_models();
  ASSERT_EQ(r.models().size(), models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    EXPECT_EQ(r.models()[i].model_index, models[i].model_index);
    EXPECT_EQ(r.models()[i].name, models[i].name);
    EXPECT_EQ(r.models()[i].path, models[i].path);
    EXPECT_EQ(r.models()[i].dtype, models[i].dtype);
    EXPECT_EQ(r.models()[i].model_type, models[i].model_type);
    EXPECT_EQ(r.models()[i].d_model, models[i].d_model);
    EXPECT_EQ(r.models()[i].num_layers, models[i].num_layers);
    EXPECT_EQ(r.models()[i].vocab_size, models[i].vocab_size);
    EXPECT_EQ(r.models()[i].n_params, models[i].n_params);
    EXPECT_EQ(r.models()[i].bos_token, models[i].bos_token);
    EXPECT_EQ(r.models()[i].planned_tasks, models[i].planned_tasks);
  }
  auto samples = test::make_samples();
  ASSERT_EQ(r.samples().size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(r.samples()[i].sample_id, samples[i].sample_id);
    EXPECT_EQ(r.samples()[i].model_index, samples[i].model_index);
    EXPECT_EQ(r.samples()[i].source, samples[i].source);
    EXPECT_EQ(r.samples()[i].offset, samples[i].offset);
    EXPECT_EQ(r.samples()[i].text_kind, samples[i].text_kind);
    EXPECT_EQ(r.samples()[i].text, samples[i].text);
    EXPECT_EQ(r.samples()[i].token_ids, samples[i].token_ids);
  }
}

TEST(RoundTrip, LongErrorAndDeviceAreTruncatedKeyTooLongIsRefused) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultsWriter w;
  w.open(path, test::make_run(), test::make_models(), test::make_samples());
  TaskResult a = make_row(1);
  a.error = std::string(2000, 'x');
  a.device = std::string(100, 'd');
  w.append({a});
  TaskResult b = make_row(2);
  b.task_key = std::string(kTaskKeyWidth, 'k');
  try {
    w.append({b});
    FAIL() << "a key of " << kTaskKeyWidth << " bytes was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("task key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  w.close();
  ResultsReader r(path);
  ASSERT_EQ(r.rows().size(), 1u);
  EXPECT_EQ(r.rows()[0].error.size(), static_cast<size_t>(kErrorWidth - 1));
  EXPECT_EQ(r.rows()[0].error.substr(kErrorWidth - 4), "...");
  EXPECT_EQ(r.rows()[0].device.size(), static_cast<size_t>(kDeviceWidth - 1));
}

// h5py, an independent reader: the /results column names are the DESIGN §2 names, and values,
// the bool/enum columns, samples and arrays read back as written.
TEST(RoundTrip, H5pyReadsColumnsAndValues) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  std::vector<TaskResult> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(make_row(i, true));
  {
    ResultsWriter w;
    w.open(path, test::make_run(), test::make_models(), test::make_samples());
    w.append(rows);
  }
  const char* script = R"PY(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
r = f["results"]
print(",".join(r.dtype.names))
x = r[:]
print(x["task_key"][2].decode(), repr(float(x["best_loss"][2])))
print(x["converged"].dtype, list(x["converged"]), list(x["status"]), [s.decode() for s in x["status_name"]])
print(f.attrs["schema_version"], f.attrs["config_fingerprint"], f.attrs["version_git_commit"])
s = f["samples"][:]
t = s["text"][1]
print(list(s["token_ids"][1]), repr(t.decode() if isinstance(t, bytes) else t))
m = f["memory/demo"]
o, k, d = int(x["memory_offset"][2]), int(x["memory_k"][2]), int(x["memory_d"][2])
print(k, d, repr(float(m[o + d + 1])))
c = int(x["curve_offset"][4])
print(int(x["curve_length"][4]), repr(float(f["curves/loss"][c + 2])))
)PY";
  std::string out = test::run_python(script, path);
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = out.find('\n', p)) != std::string::npos; p = q + 1)
    lines.push_back(out.substr(p, q - p));
  ASSERT_GE(lines.size(), 7u) << out;
  EXPECT_EQ(lines[0],
            "task_key,model_index,sample_id,n_mem,length,status,status_name,restart,n_tokens,n_targets,"
            "baseline_loss,baseline_acc,best_acc,best_loss,steps,steps_to_best,converged,"
            "info_gain_nats,info_gain_bits,token_gain,decode_exact,decode_prefix,capacity,n_bytes,"
            "gain_bound_nats,steps_to_acc95,steps_to_acc99,steps_to_acc100,decode_acc,copy_loss,copy_acc,grown_from,wall_seconds,"
            "rank,device,error,memory_offset,memory_k,memory_d,curve_offset,curve_length,mem_attention_offset,"
            "mem_attention_length");
  EXPECT_NE(lines[1].find(rows[2].task_key), std::string::npos) << lines[1];
  EXPECT_EQ(std::stod(lines[1].substr(lines[1].rfind(' ') + 1)), rows[2].best_loss);
  EXPECT_EQ(lines[2],
            "bool [True, False, True, False, True] [0, 1, 2, 0, 1] "
            "['done', 'failed', 'skipped', 'done', 'failed']");
  EXPECT_EQ(lines[3], "1 fp-1 abc123");
  EXPECT_EQ(lines[4], "[1, 2, 3, 4, 5] 'cat \"dog\"\\nbird'");
  // row 2: model 0 (d 8), k 3: element [1, 1] = 0.5 * 2 + 0.01 * 9
  EXPECT_EQ(lines[5].substr(0, 4), "3 8 ");
  EXPECT_FLOAT_EQ(std::stof(lines[5].substr(4)), 0.5f * 2 + 0.01f * 9);
  EXPECT_EQ(lines[6].substr(0, 2), "5 ");
  EXPECT_FLOAT_EQ(std::stof(lines[6].substr(2)), 3.0f - 0.1f * 2 + 4);
}

}  // namespace
}  // namespace crammer
