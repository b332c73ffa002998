// crammer against transformers' own outputs, recorded by tests/reference/make_fixtures.py in
// tests/reference/fixtures/models/<case>/ (random-weight checkpoints written by save_pretrained):
// logits, the paper's baseline CE and accuracy, and logits after a [mem] prefix, for every
// case and every compute dtype it records. CRAMMER_FIXTURES points at another fixture root
// (the live CI step regenerates them in the venv and runs this same test on them).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "crammer/model/causal_lm.hpp"
#include "crammer/model/safetensors.hpp"
#include "reference_forward.hpp"

namespace crammer::reference {
namespace {

namespace fs = std::filesystem;

// f32: what the issue asks; bf16: measured (docs/reference.md), with margin. bf16 logits vary
// with the CPU's GEMM kernels (up to 5.7e-2 on an AMD EPYC without AVX-512, 3.9e-2 elsewhere).
constexpr double kTolF32 = 1e-5;
constexpr double kTolBf16Logits = 0.08;
constexpr double kTolBf16Loss = 0.02;

fs::path fixture_root() {
  if (const char* env = std::getenv("CRAMMER_FIXTURES")) return env;
  return fs::path(CRAMMER_SOURCE_DIR) / "tests/reference/fixtures/models";
}

struct Case {
  std::string name;
  std::string compute;  // "f32" | "bf16"
};

std::vector<Case> cases() {
  std::vector<Case> out;
  if (!fs::is_directory(fixture_root())) return out;
  for (const auto& e : fs::directory_iterator(fixture_root())) {
    if (!fs::exists(e.path() / "meta.json")) continue;
    std::ifstream in(e.path() / "meta.json");
    auto meta = nlohmann::json::parse(in);
    for (const auto& c : meta.at("outputs")) out.push_back({e.path().filename().string(), c});
  }
  std::sort(out.begin(), out.end(),
            [](const Case& a, const Case& b) { return a.name + a.compute < b.name + b.compute; });
  return out;
}

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesTransformers) {
  const Case& c = GetParam();
  const fs::path dir = fixture_root() / c.name;
  const bool bf16 = c.compute == "bf16";
  const std::string sfx = bf16 ? "_bf16" : "";
  auto expected = Checkpoint::open_file((dir / "expected.safetensors").string());
  auto model = load_model(dir.string(), bf16 ? torch::kBFloat16 : torch::kFloat32);
  auto got = run_forward(*model, expected.get("ids"), expected.get("mem"));

  const double tol_logits = bf16 ? kTolBf16Logits : kTolF32;
  const double tol_loss = bf16 ? kTolBf16Loss : kTolF32;
  double e_logits = relative_error(got.logits, expected.get("logits" + sfx), "logits");
  double e_mem = relative_error(got.mem_logits, expected.get("mem_logits" + sfx), "mem_logits");
  double e_loss = relative_error(got.loss, expected.get("loss" + sfx), "loss");
  RecordProperty("logits_rel_err", std::to_string(e_logits));
  RecordProperty("mem_logits_rel_err", std::to_string(e_mem));
  RecordProperty("loss_rel_err", std::to_string(e_loss));
  std::cout << c.name << " " << c.compute << ": logits " << e_logits << ", mem_logits " << e_mem
            << ", loss " << e_loss << "\n";
  EXPECT_LE(e_logits, tol_logits);
  EXPECT_LE(e_mem, tol_logits);
  EXPECT_LE(e_loss, tol_loss);
  if (!bf16) {
    // Accuracy is a count of argmax hits: exact in f32 (the logits agree to 1e-5).
    EXPECT_TRUE(torch::equal(got.acc, expected.get("acc" + sfx)))
        << "acc " << got.acc << " expected " << expected.get("acc" + sfx);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.name + "_" + info.param.compute;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// The committed fixtures must be there: an empty directory would make the suite pass vacuously.
TEST(GoldenFixtures, Present) {
  auto all = cases();
  EXPECT_GE(all.size(), 10u) << "fixtures under " << fixture_root();
}

// Every family crammer implements is judged against transformers: none without a fixture.
TEST(GoldenFixtures, EveryFamilyHasOne) {
  std::set<std::string> covered;
  for (const auto& e : fs::directory_iterator(fixture_root())) {
    if (!fs::exists(e.path() / "meta.json")) continue;
    std::ifstream in(e.path() / "meta.json");
    covered.insert(nlohmann::json::parse(in).at("model_type").get<std::string>());
  }
  for (const auto& type : supported_model_types())
    EXPECT_TRUE(covered.count(type)) << "no golden fixture under " << fixture_root() << " has model_type " << type;
}

}  // namespace
}  // namespace crammer::reference
