// The two attention kernels give the same numbers (f32, 1e-5 relative): LibTorch's
// scaled_dot_product_attention against the explicit softmax path, in every way cramming uses
// attention: the causal mask behind a [mem] prefix (forward and the gradient to mem), right
// padding, grouped kv heads, sliding windows, gemma's score scale and cap, and the KV-cached decode (one token and multi-token chunks after a
// cache). Each case runs through whole models of every architecture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "crammer/model/attention.hpp"
#include "crammer/model/causal_lm.hpp"
#include "small_spec.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

using torch::Tensor;

constexpr double kRelTol = 1e-5;

ModelSpec spec_of(const std::string& type) {
  ModelSpec s = test::small_spec(type, 101, 128, 128);
  if (type == "gpt2") {
    s.hidden_act = "gelu_new";
    s.tie_word_embeddings = true;
  } else if (type == "gpt_neox") {
    s.hidden_act = "gelu";
    s.rotary_pct = 0.25;  // with GPTNeoXConfig's q/k/v and dense biases (no fields of its own: the defaults)
  } else {
    s.hidden_act = "silu";
  }
  return s;
}

// Grouped query heads: 8 query heads share 2 kv heads, head_dim != hidden / heads.
ModelSpec gqa_spec() {
  ModelSpec s = spec_of("llama");
  s.num_heads = 8;
  s.num_kv_heads = 2;
  s.head_dim = 12;
  return s;
}

// Sliding windows (3 on layer 0, 6 on layer 1) shorter than the texts, behind GQA and q/k norm.
ModelSpec window_spec() {
  ModelSpec s = gqa_spec();
  s.model_type = "qwen3";  // the family's per-head q/k norms
  s.layer_windows = {3, 6};
  return s;
}

// Gemma from its config.json (its own fields are the family's): scores scaled by 24^-1/2
// rather than head_dim's, layer 0 sliding (window 5); gemma2 also caps the scores, which only
// the explicit kernel can, so sdpa must fall back to it there.
ModelSpec gemma_spec(const std::string& type) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("crammer_test_attention_" + type + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"model_type": ")" + type + R"(", "vocab_size": 101,
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 16, "intermediate_size": 128, "max_position_embeddings": 128, "query_pre_attn_scalar": 24,
    "sliding_window": 5, "layer_types": ["sliding_attention", "full_attention"],
    "attn_logit_softcapping": 1.0})";
  return read_model_spec(dir.string());
}

// Weights ~ N(0, 0.1) so attention is peaked enough that a wrong mask shows.
std::shared_ptr<CausalLM> model_of(const ModelSpec& spec) {
  auto m = make_random_model(spec, 3);
  torch::manual_seed(4);
  torch::NoGradGuard g;
  for (HfParam& p : m->hf_params()) {
    const bool norm = p.init == HfParam::Init::ones;
    p.tensor.copy_(torch::randn(p.tensor.sizes()) * 0.1 + (norm ? 1.0 : 0.0));
  }
  m->freeze();
  return m;
}

// max |a - b| / max |b|, printed with the case's name.
double rel_diff(const Tensor& a, const Tensor& b, const std::string& label) {
  const double diff = (a - b).abs().max().item<double>();
  const double scale = b.abs().max().item<double>();
  std::printf("%-40s max |difference| = %.3g, relative %.3g\n", label.c_str(), diff, diff / scale);
  EXPECT_GT(scale, 0.1) << label << ": values too small for the comparison to mean anything";
  return diff / scale;
}

// forward(embeds) under one kernel.
Tensor forward_with(CausalLM& m, AttentionKernel k, const Tensor& embeds) {
  m.set_attention_kernel(k);
  return m.forward(embeds);
}

class AttentionKernels : public ::testing::TestWithParam<std::string> {
 protected:
  ModelSpec spec() const {
    if (GetParam() == "llama_gqa") return gqa_spec();
    if (GetParam() == "qwen3_window") return window_spec();
    if (GetParam().rfind("gemma", 0) == 0) return gemma_spec(GetParam());
    return spec_of(GetParam());
  }
};

// Causal attention behind k = 3 [mem] vectors, and the gradient to mem (what cramming trains).
TEST_P(AttentionKernels, MemPrefixForwardAndGradient) {
  auto m = model_of(spec());
  torch::manual_seed(5);
  const int64_t B = 2, k = 3, N = 20, d = spec().hidden_size;
  Tensor text = m->embed(torch::randint(0, spec().vocab_size, {B, N}, torch::kInt64));  // [B, N, d]
  Tensor mem0 = torch::randn({B, k, d});                                                // [B, k, d]
  Tensor probe = torch::randn({B, k + N, d});  // a fixed cotangent for the backward pass
  auto run = [&](AttentionKernel kernel, Tensor* grad) {
    Tensor mem = mem0.clone().requires_grad_(true);
    Tensor h = forward_with(*m, kernel, torch::cat({mem, text}, 1));  // [B, k + N, d]
    (h * probe).sum().backward();
    *grad = mem.grad();
    return h.detach();
  };
  Tensor g_exp, g_sdpa;
  Tensor h_exp = run(AttentionKernel::explicit_softmax, &g_exp);
  Tensor h_sdpa = run(AttentionKernel::sdpa, &g_sdpa);
  EXPECT_LT(rel_diff(h_sdpa, h_exp, GetParam() + " mem prefix, hidden"), kRelTol);
  EXPECT_LT(rel_diff(g_sdpa, g_exp, GetParam() + " mem prefix, d/d mem"), kRelTol);
}

// Right padding: texts of 20 and 9 tokens in one batch; the short text's real positions equal
// its own unpadded run, under both kernels, and the kernels agree.
TEST_P(AttentionKernels, RightPadding) {
  auto m = model_of(spec());
  torch::NoGradGuard g;
  torch::manual_seed(6);
  Tensor ids = torch::randint(1, spec().vocab_size, {2, 20}, torch::kInt64);
  ids[1].narrow(0, 9, 11).fill_(0);  // pad id 0 after the short text's 9 tokens
  Tensor padded = m->embed(ids), alone = m->embed(ids[1].narrow(0, 0, 9).unsqueeze(0));
  for (AttentionKernel kernel : {AttentionKernel::explicit_softmax, AttentionKernel::sdpa}) {
    Tensor real = forward_with(*m, kernel, padded)[1].narrow(0, 0, 9);
    Tensor own = forward_with(*m, kernel, alone)[0];
    EXPECT_LT(rel_diff(real, own, GetParam() + " padded vs alone (" + to_string(kernel) + ")"), kRelTol);
  }
  Tensor e = forward_with(*m, AttentionKernel::explicit_softmax, padded);
  Tensor s = forward_with(*m, AttentionKernel::sdpa, padded);
  EXPECT_LT(rel_diff(s, e, GetParam() + " right-padded batch"), kRelTol);
}

// KV-cached decode: a prompt, then one token at a time (no mask), then multi-token chunks after
// a cache (an explicit bottom-right causal mask): each equals the full forward of the other
// kernel.
TEST_P(AttentionKernels, KvCachedDecode) {
  auto m = model_of(spec());
  torch::NoGradGuard g;
  torch::manual_seed(7);
  Tensor x = m->embed(torch::randint(0, spec().vocab_size, {2, 17}, torch::kInt64));  // [B, T, d]
  Tensor full = forward_with(*m, AttentionKernel::explicit_softmax, x);
  m->set_attention_kernel(AttentionKernel::sdpa);
  KVCache one;
  std::vector<Tensor> parts = {m->forward_cached(x.narrow(1, 0, 6), one)};
  for (int64_t t = 6; t < 17; ++t) parts.push_back(m->forward_cached(x.narrow(1, t, 1), one));
  KVCache chunked;
  std::vector<Tensor> chunks = {m->forward_cached(x.narrow(1, 0, 4), chunked),
                                m->forward_cached(x.narrow(1, 4, 5), chunked),
                                m->forward_cached(x.narrow(1, 9, 8), chunked)};
  EXPECT_LT(rel_diff(torch::cat(parts, 1), full, GetParam() + " cached, one token at a time"), kRelTol);
  EXPECT_LT(rel_diff(torch::cat(chunks, 1), full, GetParam() + " cached, chunks after a cache"), kRelTol);
}

INSTANTIATE_TEST_SUITE_P(Architectures, AttentionKernels,
                         ::testing::Values("gpt2", "gpt_neox", "llama", "llama_gqa", "qwen3_window", "gemma2",
                                           "gemma3_text"),
                         [](const auto& info) { return info.param; });

// The comparison can fail: a kernel that ignored the causal mask would differ far beyond the
// tolerance (here: the explicit path against itself without causality, via a reversed text).
TEST(AttentionKernelsSanity, CausalityMattersAtThisScale) {
  auto m = model_of(spec_of("llama"));
  torch::NoGradGuard g;
  torch::manual_seed(8);
  Tensor x = m->embed(torch::randint(0, 101, {1, 12}, torch::kInt64));
  Tensor a = m->forward(x).narrow(1, 0, 6);
  Tensor changed_future = x.clone();
  changed_future.narrow(1, 6, 6).copy_(torch::randn({1, 6, 64}));
  Tensor b = m->forward(changed_future).narrow(1, 0, 6);
  Tensor c = m->forward(changed_future.narrow(1, 0, 6));
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-5);  // the past never sees the future
  EXPECT_LT((a - c).abs().max().item<double>(), 1e-5);
  Tensor d = m->forward(torch::cat({torch::randn({1, 1, 64}), x.narrow(1, 1, 11)}, 1)).narrow(1, 0, 6);
  EXPECT_GT((a - d).abs().max().item<double>(), 1e-2);  // but the past is seen
}

TEST(AttentionKernelChoice, NamesAndResolution) {
  EXPECT_EQ(parse_attention_kernel("auto"), AttentionKernel::automatic);
  EXPECT_EQ(parse_attention_kernel("explicit"), AttentionKernel::explicit_softmax);
  EXPECT_EQ(parse_attention_kernel("sdpa"), AttentionKernel::sdpa);
  for (auto k : {AttentionKernel::automatic, AttentionKernel::explicit_softmax, AttentionKernel::sdpa})
    EXPECT_EQ(parse_attention_kernel(to_string(k)), k);
  try {
    parse_attention_kernel("flash");
    FAIL() << "accepted 'flash'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("runtime.attention: 'flash'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(resolve_attention_kernel(AttentionKernel::explicit_softmax, true), AttentionKernel::explicit_softmax);
  EXPECT_NE(resolve_attention_kernel(AttentionKernel::automatic, false), AttentionKernel::automatic);
  EXPECT_EQ(resolve_attention_kernel(AttentionKernel::automatic, /*cuda=*/true), AttentionKernel::sdpa);
  EXPECT_EQ(resolve_attention_kernel(AttentionKernel::automatic, /*cuda=*/false), AttentionKernel::sdpa);
}

}  // namespace
}  // namespace crammer
