// Tests of the train layer: the recipe parser's errors, determinism of a few training steps on
// a tiny model, the exactness of the shared-unseen-rows training head against the exported
// model's full head, and the committed demo model (models/demo) against its recorded held-out CE.
#include "train_test_util.hpp"

TEST(Recipe, DemoRecipeParses) {
  PretrainRecipe r = load_recipe("experiments/pretrain-demo.yaml");
  EXPECT_EQ(r.model.arch, "llama");
  EXPECT_TRUE(r.model.tie_word_embeddings);
  EXPECT_EQ(r.data.heldout, "data/corpora/austen/persuasion.txt");
  for (const auto& p : r.data.train) EXPECT_EQ(p.find("persuasion"), std::string::npos) << p;
  EXPECT_EQ(r.output.dtype, "bf16");
  // The resolved YAML parses back to the same recipe.
  PretrainRecipe again = parse_recipe(r.yaml, "resolved");
  EXPECT_EQ(again.yaml, r.yaml);
}

TEST(Recipe, OverridesApply) {
  PretrainRecipe r = load_recipe("experiments/pretrain-demo.yaml", {"train.steps=7", "output.dir=/tmp/x",
                                                                   "data.train=[a.txt, b.txt]"});
  EXPECT_EQ(r.train.steps, 7);
  EXPECT_EQ(r.output.dir, "/tmp/x");
  EXPECT_EQ(r.data.train, (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST(Recipe, ErrorsNameTheKey) {
  const std::string ok = "data: {train: [a.txt], heldout: h.txt}\n";
  EXPECT_EQ(error_of(ok), "(no error)");
  std::string e = error_of(ok + "train: {stpes: 3}\n");
  EXPECT_NE(e.find("r.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'train.stpes'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'train.steps'"), std::string::npos) << e;
  e = error_of(ok + "modle: {layers: 2}\n");
  EXPECT_NE(e.find("unknown key 'modle'"), std::string::npos) << e;
  e = error_of(ok, {"train.steps=many"});
  EXPECT_NE(e.find("train.steps: expected an integer, got 'many'"), std::string::npos) << e;
  e = error_of(ok, {"train.seq_len=1024"});
  EXPECT_NE(e.find("train.seq_len: 1024 > model.max_positions 512"), std::string::npos) << e;
  e = error_of("data: {train: [h.txt], heldout: h.txt}\n");
  EXPECT_NE(e.find("data.train: 'h.txt' is also data.heldout"), std::string::npos) << e;
  e = error_of(ok, {"output.dtype=f16"});
  EXPECT_NE(e.find("output.dtype: 'f16' is not f32 or bf16"), std::string::npos) << e;
  e = error_of(ok, {"steps=3"});
  EXPECT_NE(e.find("override 'steps=3'"), std::string::npos) << e;
  e = error_of(ok + "model: {d_model: 30, heads: 4}\n");
  EXPECT_NE(e.find("model.d_model"), std::string::npos) << e;
  EXPECT_THROW(load_recipe("no/such/recipe.yaml"), ConfigError);
}

TEST(Pretrain, SameSeedSameLossCurve) {
  TinyCorpus c;
  PretrainRecipe r = parse_recipe(c.recipe(), "tiny");
  auto quiet = [](const PretrainProgress&) {};
  PretrainResult a = pretrain(r, quiet);
  PretrainResult b = pretrain(r, quiet);
  ASSERT_EQ(a.losses.size(), 6u);
  for (size_t i = 0; i < a.losses.size(); ++i) EXPECT_EQ(a.losses[i], b.losses[i]) << "step " << i + 1;
  EXPECT_EQ(a.heldout_ce_trained, b.heldout_ce_trained);
  // The first loss of a random model is close to uniform over the vocabulary.
  EXPECT_NEAR(a.losses[0], std::log(50257.0), 0.1);
  // Another seed: another initialisation and other batches.
  PretrainResult other = pretrain(parse_recipe(c.recipe(), "tiny", {"train.seed=4"}), quiet);
  EXPECT_NE(other.losses[0], a.losses[0]);
}

TEST(Pretrain, TrainingHeadMatchesTheExportedFullHead) {
  // The shared-unseen-rows head computes the full-vocabulary softmax; the exported checkpoint's
  // plain head (every row its own, f32) must give the same held-out CE.
  TinyCorpus c;
  const fs::path out = c.dir / "model";
  PretrainRecipe r = parse_recipe(c.recipe("output: {dir: " + out.string() + ", dtype: f32}\n"), "tiny",
                                  {"train.steps=12"});
  PretrainResult res = pretrain(r, [](const PretrainProgress&) {});
  EXPECT_LT(res.seen_vocab, 50257 / 4);  // a small corpus sees few ids: the head really is reduced
  EXPECT_LT(res.heldout_ce_trained, std::log(50257.0) - 0.5);  // it learnt something
  printf("training head %.6f, reloaded full head %.6f, diff %.2e\n", res.heldout_ce_trained,
         res.heldout_ce_reloaded, std::abs(res.heldout_ce_trained - res.heldout_ce_reloaded));
  EXPECT_NEAR(res.heldout_ce_reloaded, res.heldout_ce_trained, 1e-4);
  for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "heldout.json", "recipe.yaml"})
    EXPECT_TRUE(fs::exists(out / f)) << f;

  // heldout_ce against an independent log-softmax + gather over the same windows.
  auto model = load_model(out.string(), torch::kFloat32);
  auto tok = load_tokenizer("data/tokenizers/gpt2");
  torch::Tensor w = heldout_windows(*tok, (c.dir / "heldout.txt").string(), 16, 256);  // [16, 16]
  ASSERT_EQ(w.size(0), 16);
  torch::NoGradGuard no_grad;
  torch::Tensor logits = model->lm_head(model->forward(model->embed(w)));  // [16, 16, V]
  torch::Tensor logp = torch::log_softmax(logits.slice(1, 0, 15).to(torch::kFloat64), -1);
  double manual = -logp.gather(-1, w.slice(1, 1).unsqueeze(-1)).mean().item<double>();
  EXPECT_NEAR(heldout_ce(*model, w, 3), manual, 1e-5);
}

