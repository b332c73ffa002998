// preflight_models on real checkpoints written by make_model_checkpoint, then broken one way at a
// time: each is refused before any weight is read, naming the config key, the model, the file
// and what is wrong; the checkpoint load_model accepts passes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cmath>
#include <map>

#include <torch/torch.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/make_model.hpp"
#include "crammer/model/safetensors.hpp"
#include "crammer/plan/preflight.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;

class Preflight : public ::testing::Test {
 protected:
  // A tiny gpt2 checkpoint in DIR/NAME; returns its spec.
  ModelSpec make(const std::string& name) {
    MakeModelOptions o;
    o.arch = "gpt2";
    o.layers = 2;
    o.d_model = 32;
    o.heads = 4;
    o.vocab_size = 61;
    o.max_position_embeddings = 64;
    o.out_dir = path(name);
    return make_model_checkpoint(o);
  }
  std::string path(const std::string& name) const { return tmp_.file(name); }
  ExperimentConfig config(const std::string& name) const {
    ExperimentConfig c;
    c.source_file = "sweep.yaml";
    c.models.push_back(ModelEntry{"tiny", path(name), "f32", ""});
    return c;
  }
  // The ConfigError message of preflight_models ("" and a test failure if none).
  std::string error(const std::string& name) const {
    try {
      preflight_models(config(name));
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return e.what();
    }
    ADD_FAILURE() << "preflight accepted " << name;
    return "";
  }
  std::map<std::string, torch::Tensor> weights(const std::string& name) const {
    std::map<std::string, torch::Tensor> w;
    for (auto& [n, t] : export_hf_weights(*load_model(path(name)))) w[n] = t.clone();
    return w;
  }

  // A safetensors file of F32 and F64 tensors, by the format's own rules (u64 header length,
  // JSON header, data in name order), independent of crammer's writer.
  static void write_raw(const std::string& file, const std::map<std::string, torch::Tensor>& tensors) {
    std::string header = "{", data;
    for (const auto& [name, t] : tensors) {
      const torch::Tensor c = t.contiguous();
      const size_t bytes = static_cast<size_t>(c.numel() * c.element_size());
      std::string shape;
      for (int64_t d : c.sizes()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
      header += (header.size() > 1 ? "," : "") + std::string("\"") + name + "\":{\"dtype\":\"" +
                (c.scalar_type() == torch::kFloat64 ? "F64" : "F32") + "\",\"shape\":[" + shape +
                "],\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + bytes) + "]}";
      data.append(static_cast<const char*>(c.data_ptr()), bytes);
    }
    header += "}";
    std::ofstream out(file, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header << data;
  }

  test::TempDir tmp_{"preflight"};
};

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST_F(Preflight, AcceptsWhatLoadModelLoads) {
  make("good");
  EXPECT_NO_THROW(preflight_models(config("good")));
  EXPECT_NO_THROW(load_model(path("good")));
}

// cram.mem_rank is checked against each model's [mem] width before anything runs.
TEST_F(Preflight, RefusesAMemRankAboveTheModelsWidth) {
  make("good");
  ExperimentConfig c = config("good");
  c.cram.mem_rank = 32;
  EXPECT_NO_THROW(preflight_models(c));
  c.cram.mem_rank = 33;
  try {
    preflight_models(c);
    ADD_FAILURE() << "rank 33 accepted for d 32";
  } catch (const ConfigError& e) {
    EXPECT_HAS(std::string(e.what()),
               "sweep.yaml: cram.mem_rank: 33 > 32, the width of model 'tiny''s [mem] vectors (models.0)");
  }
}

TEST_F(Preflight, RefusesEachBrokenCheckpointNamingKeyModelFileAndTensor) {
  const std::string prefix = "sweep.yaml: models.0.path: ";
  ModelSpec spec = make("good");

  fs::create_directories(path("none"));
  write_model_spec(spec, path("none"));
  EXPECT_HAS(error("none"), prefix + "'" + path("none") + "' holds no model.safetensors");

  make("vocab");  // config.json says one more token than the weights hold
  ModelSpec more = spec;
  more.vocab_size = 62;
  write_model_spec(more, path("vocab"));
  std::string m = error("vocab");
  EXPECT_HAS(m, prefix + "model 'tiny': ");
  EXPECT_HAS(m, "tensor 'transformer.wte.weight' has shape [61, 32], config.json implies [62, 32]");

  make("layers");  // config.json says three layers, the weights hold two
  ModelSpec deeper = spec;
  deeper.num_layers = 3;
  write_model_spec(deeper, path("layers"));
  EXPECT_HAS(error("layers"), "missing tensors: transformer.h.2.");

  auto extra = weights("good");  // one tensor nothing uses
  extra["transformer.extra.weight"] = torch::zeros({3});
  write_checkpoint(path("extra"), extra);
  write_model_spec(spec, path("extra"));
  EXPECT_HAS(error("extra"), "unused tensors: transformer.extra.weight");

  auto f64 = weights("good");  // a weight stored as F64 (written by hand: crammer writes floats only)
  f64["transformer.ln_f.weight"] = f64["transformer.ln_f.weight"].to(torch::kFloat64);
  fs::create_directories(path("f64"));
  write_raw(path("f64") + "/model.safetensors", f64);
  write_model_spec(spec, path("f64"));
  EXPECT_HAS(error("f64"), "tensor 'transformer.ln_f.weight' is stored as F64");

  make("trunc");  // the file cut short: the header promises more bytes than there are
  const std::string file = path("trunc") + "/model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  m = error("trunc");
  EXPECT_HAS(m, prefix + "model 'tiny': ");
  EXPECT_HAS(m, "model.safetensors");

  make("junk");  // not a safetensors file at all
  std::ofstream(path("junk") + "/model.safetensors", std::ios::trunc) << "definitely not safetensors";
  EXPECT_HAS(error("junk"), "model.safetensors");
}

// cram.init_mem: every task's tensor is read before the run, each fault named with the file,
// the tensor (the task key) and what was expected; the right file passes.
TEST_F(Preflight, InitMemTensorsAreCheckedForEveryTask) {
  Plan plan;
  plan.models.push_back(ModelRecord{0, "tiny", "m", "f32", "llama", 4, 1, 61, 100, -1, 2});
  for (int k : {1, 2}) {
    Task t;
    t.key = "tiny/k" + std::to_string(k) + "/L8/s0";
    t.n_mem = k;
    plan.tasks.push_back(t);
  }
  ExperimentConfig c;
  c.source_file = "sweep.yaml";
  const std::string file = path("init.safetensors");
  c.cram.init_mem = file;
  const auto good = [] { return std::map<std::string, torch::Tensor>{{"tiny/k1/L8/s0", torch::rand({1, 4})},
                                                                      {"tiny/k2/L8/s0", torch::rand({2, 4})}}; };
  const auto error = [&](const std::map<std::string, torch::Tensor>& tensors) -> std::string {
    write_raw(file, tensors);
    try {
      preflight_init_mem(c, plan);
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return e.what();
    }
    ADD_FAILURE() << "accepted";
    return "";
  };
  const std::string where = "sweep.yaml: cram.init_mem: " + file + ": ";
  write_raw(file, good());
  EXPECT_NO_THROW(preflight_init_mem(c, plan));

  auto missing = good();
  missing.erase("tiny/k2/L8/s0");
  EXPECT_HAS(error(missing), where + "no tensor for 1 of the 2 tasks ('tiny/k2/L8/s0'; a task's tensor is named by its key");
  auto shape = good();
  shape["tiny/k2/L8/s0"] = torch::rand({2, 5});
  EXPECT_HAS(error(shape), where + "tensor 'tiny/k2/L8/s0' has shape [2, 5]; expected [2, 4] (k = 2 [mem] vectors");
  auto f64 = good();
  f64["tiny/k1/L8/s0"] = f64["tiny/k1/L8/s0"].to(torch::kFloat64);
  EXPECT_HAS(error(f64), where + "tensor 'tiny/k1/L8/s0' has dtype F64; expected F32, F16 or BF16");
  for (double bad : {std::nan(""), static_cast<double>(INFINITY)}) {
    auto values = good();
    values["tiny/k2/L8/s0"][1][2] = bad;
    EXPECT_HAS(error(values), where + "tensor 'tiny/k2/L8/s0' holds a non-finite value (inf or NaN) at [1, 2]");
  }
  // One-step generation: per_text tensors hold e_1..e_k and m; shared ones e alone plus the
  // run's "m", as wide as the model.
  c.cram.one_step = "per_text";
  EXPECT_HAS(error(good()), where + "tensor 'tiny/k1/L8/s0' has shape [1, 4]; expected [2, 4] (k = 1 [mem] vectors and m");
  write_raw(file, {{"tiny/k1/L8/s0", torch::rand({2, 4})}, {"tiny/k2/L8/s0", torch::rand({3, 4})}});
  EXPECT_NO_THROW(preflight_init_mem(c, plan));
  c.cram.one_step = "shared";
  EXPECT_HAS(error(good()), where + "no tensor 'm': cram.one_step shared reads the run's shared m from it");
  auto with_m = good();
  with_m["m"] = torch::rand({5});
  EXPECT_HAS(error(with_m), where + "tensor 'm' has dtype F32 and shape [5]; expected a float [4] (model 'tiny''s width)");
  with_m["m"] = torch::rand({4});
  write_raw(file, with_m);
  EXPECT_NO_THROW(preflight_init_mem(c, plan));
  c.cram.one_step = "off";

  std::ofstream(file, std::ios::trunc) << "not a safetensors file at all";
  try {
    preflight_init_mem(c, plan);
    ADD_FAILURE() << "accepted text";
  } catch (const ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), where + "not a readable safetensors file");
  }
}

}  // namespace
}  // namespace crammer
