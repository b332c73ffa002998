// Helpers shared by the store tests (temp dirs: support/temp_dir.hpp): a sample header, rows with every field set,
// field-by-field comparison, and running /usr/bin/python3 (h5py) on a file.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "crammer/core/records.hpp"
#include "crammer/core/result.hpp"
#include "crammer/store/results_file.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer::test {

inline RunInfo make_run(const std::string& fingerprint = "fp-1") {
  RunInfo r;
  r.config_yaml = "models:\n  - name: demo\ncram:\n  n_mem: [1, 2]\n";
  r.config_fingerprint = fingerprint;
  r.command_line = "crammer run exp.yaml cram.optimizer.lr=0.005";
  r.start_time = "2025-01-02T03:04:05Z";
  r.hosts = {"node-a", "node-b"};
  r.versions = {{"crammer", "0.1.0"}, {"git_commit", "abc123"}, {"libtorch", "1.13.1"},
                {"mpi", "Open MPI 4.1.4"}, {"hdf5", "1.10.8"}};
  return r;
}

inline std::vector<ModelRecord> make_models() {
  return {{0, "demo", "models/demo", "f32", "gpt2", 8, 2, 50257, 123456, -1, 40},
          {1, "tiny-llama", "models/tiny", "bf16", "llama", 4, 1, 32000, 999, 128000, 20}};
}

inline SampleRecord make_sample(int64_t id, int32_t model, std::string source, int64_t offset,
                                std::string kind, std::string text, std::vector<int32_t> ids) {
  SampleRecord s;
  s.sample_id = id;
  s.model_index = model;
  s.source = std::move(source);
  s.offset = offset;
  s.text_kind = std::move(kind);
  s.text = std::move(text);
  s.token_ids = std::move(ids);
  return s;
}

inline std::vector<SampleRecord> make_samples() {
  return {make_sample(0, 0, "data/a.txt", 10, "natural", "Hello, world", {15496, 11, 995}),
          make_sample(1, 1, "random-words", 0, "random-words", "cat \"dog\"\nbird", {1, 2, 3, 4, 5}),
          make_sample(2, 0, "data/b.txt", 77, "natural", "", {})};
}

// Row i: every field differs from its neighbours' and from defaults.
inline TaskResult make_row(int i, bool arrays = false) {
  TaskResult r;
  r.task_key = "m" + std::to_string(i % 2) + "-s" + std::to_string(i) + "-k" + std::to_string(1 + i % 3);
  r.model_index = i % 2;
  r.sample_id = 1000 + i;
  r.n_mem = 1 + i % 3;
  r.length = 16 * (1 + i % 4);
  r.status = static_cast<TaskStatus>(i % 3);
  r.n_tokens = r.length;
  r.n_targets = r.length - 1;
  r.baseline_loss = 5.0 + 0.001 * i;
  r.baseline_acc = 0.1 + 1e-6 * i;
  r.best_acc = 0.5 + 1e-5 * i;
  r.best_loss = 0.25 + 1.0 / (3.0 + i);
  r.steps = 100 + i;
  r.steps_to_best = 50 + i;
  r.converged = i % 2 == 0;
  r.info_gain_nats = (r.baseline_loss - r.best_loss) * r.n_targets;
  r.info_gain_bits = r.info_gain_nats / 0.6931471805599453;
  r.token_gain = i - 7;
  r.decode_exact = i % 4 == 1;
  r.decode_prefix = i % 17;
  r.capacity = i % 3 == 0 ? -1 : i % 23;
  r.restart = i % 4;
  r.n_bytes = 40 + i;
  r.gain_bound_nats = 0.5 * i + 0.125;
  r.steps_to_acc95 = 10 + i;
  r.steps_to_acc99 = 20 + i;
  r.steps_to_acc100 = i % 2 == 0 ? -1 : 30 + i;
  r.decode_acc = 0.25 + 0.001 * i;
  r.copy_loss = 0.75 + 0.002 * i;
  r.copy_acc = 0.5 + 0.003 * i;
  r.grown_from = 3 + i;
  r.wall_seconds = 0.125 * i + 1e-9;
  r.rank = i % 5;
  r.device = "cuda:" + std::to_string(i % 8);
  r.error = r.status == TaskStatus::done ? "" : "error, \"quoted\"\nline " + std::to_string(i);
  if (arrays) {
    int d = r.model_index == 0 ? 8 : 4;  // d_model of make_models()
    r.d_model = d;
    for (int j = 0; j < r.n_mem * d; ++j) r.memory.push_back(0.5f * i + 0.01f * j);
    for (int j = 0; j < 1 + i % 5; ++j) {
      r.curve_loss.push_back(3.0f - 0.1f * j + i);
      r.curve_acc.push_back(0.1f * j);
    }
    for (int j = 0; j < 1 + i % 3; ++j) r.mem_attention.push_back(0.125f * j + 0.001f * i);
  }
  return r;
}

inline void expect_same(const TaskResult& a, const TaskResult& b, bool arrays) {
  EXPECT_EQ(a.task_key, b.task_key);
  EXPECT_EQ(a.model_index, b.model_index);
  EXPECT_EQ(a.sample_id, b.sample_id);
  EXPECT_EQ(a.n_mem, b.n_mem);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.n_tokens, b.n_tokens);
  EXPECT_EQ(a.n_targets, b.n_targets);
  EXPECT_EQ(a.baseline_loss, b.baseline_loss);
  EXPECT_EQ(a.baseline_acc, b.baseline_acc);
  EXPECT_EQ(a.best_acc, b.best_acc);
  EXPECT_EQ(a.best_loss, b.best_loss);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.steps_to_best, b.steps_to_best);
  EXPECT_EQ(a.converged, b.converged);
  EXPECT_EQ(a.info_gain_nats, b.info_gain_nats);
  EXPECT_EQ(a.info_gain_bits, b.info_gain_bits);
  EXPECT_EQ(a.token_gain, b.token_gain);
  EXPECT_EQ(a.decode_exact, b.decode_exact);
  EXPECT_EQ(a.decode_prefix, b.decode_prefix);
  EXPECT_EQ(a.capacity, b.capacity);
  EXPECT_EQ(a.restart, b.restart);
  EXPECT_EQ(a.n_bytes, b.n_bytes);
  EXPECT_TRUE(a.gain_bound_nats == b.gain_bound_nats ||
              (std::isnan(a.gain_bound_nats) && std::isnan(b.gain_bound_nats)));
  EXPECT_EQ(a.steps_to_acc95, b.steps_to_acc95);
  EXPECT_EQ(a.steps_to_acc99, b.steps_to_acc99);
  EXPECT_EQ(a.steps_to_acc100, b.steps_to_acc100);
  EXPECT_EQ(a.decode_acc, b.decode_acc);
  EXPECT_EQ(a.copy_loss, b.copy_loss);
  EXPECT_EQ(a.copy_acc, b.copy_acc);
  EXPECT_EQ(a.grown_from, b.grown_from);
  EXPECT_EQ(a.wall_seconds, b.wall_seconds);
  EXPECT_EQ(a.rank, b.rank);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.error, b.error);
  if (arrays) {
    EXPECT_EQ(a.memory, b.memory);
    EXPECT_EQ(a.d_model, b.d_model);
    EXPECT_EQ(a.curve_loss, b.curve_loss);
    EXPECT_EQ(a.curve_acc, b.curve_acc);
    EXPECT_EQ(a.mem_attention, b.mem_attention);
  }
}

// Runs `/usr/bin/python3 -c script args...`; returns stdout, fails the test on a non-zero exit.
inline std::string run_python(const std::string& script, const std::string& args) {
  std::string cmd = "/usr/bin/python3 -c '" + script + "' " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << "python failed:\n" << out;
  return out;
}

}  // namespace crammer::test
