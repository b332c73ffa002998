// The typed config tree of a sweep (DESIGN §6). Defaults live here, the field table beside it
// (bind_fields); YAML and `a.b=v` overrides are parsed in one place (config/loader). Everything
// downstream takes this struct.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crammer {

struct ModelEntry {
  std::string name;          // used in results and figures
  std::string path;          // Hugging Face checkpoint directory
  std::string dtype = "bf16";  // compute dtype: f32 | bf16
  std::string tokenizer;     // tokenizer directory; empty = the checkpoint directory

  const std::string& tokenizer_dir() const { return tokenizer.empty() ? path : tokenizer; }
};

struct CorpusConfig {
  std::string format = "text";  // text | jsonl | token-ids
  std::vector<std::string> paths;
  std::string text_field = "text";  // jsonl: the field holding the text
  // natural | random-words, or both: `samples` samples of each kind, in this order.
  std::vector<std::string> text_kind = {"natural"};
  std::optional<std::string> word_list;  // file of words for random-words texts
  int64_t samples = 16;
  uint64_t seed = 0;
  // Whether each text starts with its model's BOS token, which counts in the length (the
  // paper: `tokenizer(text, max_length=L, truncation=True)`). auto: the tokenizer's own default
  // (Llama-3's template, SentencePiece Llama, OPT: yes; GPT-2, Pythia, Qwen: no); true: every
  // model's BOS (an error for a tokenizer without one); false: none.
  std::string add_bos = "auto";  // auto | true | false
  // The paper's context-length ablation: each sample's first prefix_tokens tokens (its BOS
  // included, when its texts start with one) go before the crammed text as real context, in the
  // baseline and after the [mem] vectors; the crammed text is the tokens that follow (0 = none).
  int64_t prefix_tokens = 0;
};

struct OptimizerConfig {
  double lr = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.9;
  double eps = 1e-8;
  double weight_decay = 0.01;
  int64_t max_steps = 5000;
  int64_t patience = 2000;
  double target_accuracy = 1.0;
  // The learning rate of update t (cram/lr_schedule.hpp): constant, or cosine from lr down to
  // min_lr at max_steps; either after a linear warmup from 0 over warmup_steps updates.
  std::string schedule = "constant";  // constant | cosine
  int64_t warmup_steps = 0;
  double min_lr = 0.0;
  // The cosine's length S in updates (0: max_steps); past it the rate stays at min_lr. A
  // progressive search that carries its optimizer counts updates over all its probes.
  int64_t schedule_steps = 0;
};

// Terms of the cramming objective beyond the paper's mean CE (progressive_cramming's
// train/loss.py). The stored losses stay the plain mean CE; these shape only the gradient.
struct LossConfig {
  // The first first_tokens targets of each text weigh first_weight in its CE, the rest 1
  // (still divided by the number of targets).
  int64_t first_tokens = 0;
  double first_weight = 1.0;
  // + align_alpha x the distance between the hidden states with [mem] and those of the text
  // alone (no [mem]) at the text's positions, averaged over them and summed over the aligned
  // states: Hugging Face's hidden_states (the input of each layer, then the final states), the
  // first align_layers of them or, with align_from last, the last (0: all). 0 = off.
  double align_alpha = 0.0;
  int64_t align_layers = 0;
  std::string align_from = "first";  // first | last
  std::string align_distance = "l2";  // l2 (Euclidean) | l1 | cosine (1 - cos)
};

struct CramConfig {
  std::vector<int64_t> n_mem = {1, 2, 4};
  std::vector<int64_t> lengths = {16, 32, 64, 128};
  // grid: every sample at every length of `lengths`. uniform: the paper's random-length texts,
  // each sample crammed once at its own length, drawn uniformly from [2, max(lengths)] by
  // (corpus.seed, sample id) (plan/planner.hpp); grid search only.
  std::string length_mode = "grid";
  std::string search = "grid";  // grid | bisect | progressive
  // progressive: each probe also takes the AdamW moments and the update count (the schedule's
  // position, bias correction) that came with its starting mem, as progressive cramming's
  // per-sample optimizer does; false: a fresh AdamW and schedule per probe.
  bool carry_optimizer = false;
  // progressive: doubling (progressive cramming's geometric growth, then bisection between the
  // longest converged and the shortest failed length) | one_token (t_{L+1} added after each
  // converged probe of L, up to the first failure: each token's marginal steps, grown_from).
  std::string growth = "doubling";
  // Independent mem inits per (model, k, length, sample) (the paper's solution-diversity study);
  // above 1 each task key ends in /r<j>, j = 0..restarts-1, and so does each init's seed.
  int64_t restarts = 1;
  // 0: each [mem] vector is trained as is. r > 0: the low-dimensional parametrisation of
  // progressive cramming, mem = z W^T + b per sample with z [k, r], W [d, r] and b [d] all
  // trained (cram/mem_params.hpp); r <= the model's embedding width.
  int64_t mem_rank = 0;
  bool predict_first_token = false;
  double init_std_scale = 1.0;  // mem ~ N(0,1) * std(embedding matrix) * init_std_scale
  bool decode_check = true;     // greedy decode from mem alone (decode_exact, decode_prefix)
  // The paper's in-context control (notebooks/ablations_repeat_text): each row's text placed in
  // the context instead of in [mem], "text: TEXT\nrepeat previous text: " followed by the text,
  // scored on the copy (copy_loss, copy_acc); grid search only.
  bool in_context_control = false;
  // One-step generation (Mezentsev & Oseledets, arXiv 2505.21189): instead of [mem, t_1..t_N],
  // the model reads the carrier [e_1..e_k, m, .., m] with N - 1 copies of one vector m, and the
  // outputs at e_k and at every m predict t_1..t_N, all scored from one forward pass (every
  // token is a target, whatever predict_first_token says). off: the paper's autoregressive
  // carrier. per_text: e and m trained per text (a task's mem is [k + 1, d], m last). shared: m
  // is one fixed vector for the whole run (cram.init_mem's tensor "m" under init: file, else
  // drawn by cram.init from the run seed alone) and only e [k, d] is trained.
  std::string one_step = "off";
  // A safetensors file with each grid task's starting mem, a [k, d] tensor named by the task
  // key ("demo/k1/L16/s0"), instead of the random init: to replay another run or another
  // implementation step by step. A task without its tensor fails, naming the file and key.
  std::optional<std::string> init_mem;
  // Where mem starts (cram/mem_init.hpp): randn | uniform | vocab_gaussian | text_mean | file
  // (file: init_mem; a config with init_mem and the default randn means file).
  std::string init = "randn";
  OptimizerConfig optimizer;
  LossConfig loss;
};

// One-step generation (cram.one_step per_text or shared) replaces [mem, text] by its carrier.
inline bool one_step_on(const CramConfig& c) { return c.one_step != "off"; }
// Rows of a task's trained mem beyond e_1..e_k: 1 (m) under one_step per_text, else 0.
inline int64_t one_step_extra_rows(const CramConfig& c) { return c.one_step == "per_text" ? 1 : 0; }
// t_1 is a target (predicted from the last [mem] vector, or from one-step's e_k), not input.
inline bool first_token_scored(const CramConfig& c) { return c.predict_first_token || one_step_on(c); }

struct BatchingConfig {
  int64_t batch_size = 16;
  int64_t head_chunk = 256;  // positions per LM-head/CE chunk
};

struct RuntimeConfig {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string attention = "auto";  // auto | explicit | sdpa (include/crammer/model/attention.hpp)
  int64_t threads = 2;         // intra-op threads per rank (0 = split the cores over local ranks)
  uint64_t seed = 0;
  std::string log_level = "info";
  // Worker liveness (multi-rank runs, docs/distributed.md): a worker computing a batch tells
  // rank 0 it is alive this often; rank 0 hands the tasks of a worker silent for
  // worker_timeout_seconds to the others (0: never).
  double heartbeat_seconds = 10.0;
  double worker_timeout_seconds = 120.0;
};

struct OutputConfig {
  std::string path = "results/quickstart.h5";
  bool save_memory = false;
  int64_t curves_every = 0;      // 0 = no curves
  // Per row, the attention mass on [mem] per attention layer at the best mem (mem_attention).
  bool attention_mass = false;
  double flush_seconds = 10.0;   // rank 0 flushes the results file at least this often
};

struct ExperimentConfig {
  std::vector<ModelEntry> models;
  CorpusConfig corpus;
  CramConfig cram;
  BatchingConfig batching;
  RuntimeConfig runtime;
  OutputConfig output;

  std::string source_file;  // the YAML file it came from (for messages), empty if none
};

class YamlBinder;

// The field table (src/config/experiment_fields.cpp): every key of the config, in schema order;
// reading, writing and key listing all go through it.
void bind_fields(YamlBinder& b, ExperimentConfig& c);

}  // namespace crammer
