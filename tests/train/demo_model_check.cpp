// The committed demo model (models/demo) loads and keeps the held-out CE its recipe recorded.
#include "train_test_util.hpp"

TEST(DemoModel, LoadsAndKeepsItsRecordedHeldoutCE) {
  const fs::path dir = "models/demo";
  ASSERT_TRUE(fs::exists(dir / "heldout.json")) << "models/demo is not trained yet (see docs/pretrain.md)";
  nlohmann::json j = nlohmann::json::parse(read_file(dir / "heldout.json"));
  const double recorded = j.at("heldout_ce").get<double>();
  EXPECT_LE(recorded, 5.0) << "the demo model must be a real LM (uniform is 10.8 nats)";
  EXPECT_LT(fs::file_size(dir / "model.safetensors"), 32u * 1000 * 1000);
  ModelSpec spec = read_model_spec(dir.string());
  EXPECT_EQ(spec.torch_dtype, "bfloat16");
  EXPECT_EQ(j.at("heldout_path").get<std::string>(), "data/corpora/austen/persuasion.txt");

  auto model = load_model(dir.string(), torch::kFloat32);
  auto tok = load_tokenizer(dir.string());  // the copied GPT-2 tokenizer files
  EXPECT_EQ(tok->vocab_size(), 50257);
  torch::Tensor w = heldout_windows(*tok, j.at("heldout_path").get<std::string>(), j.at("seq_len").get<int64_t>(),
                                    j.at("eval_tokens").get<int64_t>());  // [n, T]
  EXPECT_EQ(w.size(0) * (w.size(1) - 1), j.at("targets").get<int64_t>());
  at::set_num_threads(2);
  const double ce = heldout_ce(*model, w);
  printf("demo held-out CE %.6f, recorded %.6f\n", ce, recorded);
  EXPECT_NEAR(ce, recorded, 1e-3);
}
