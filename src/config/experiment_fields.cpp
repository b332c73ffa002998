// The sweep config's field table (DESIGN §6): names, nesting and order of every key of
// ExperimentConfig. Reading, writing and key listing all go through it (config/yaml_binder.hpp).
#include "crammer/config/experiment_config.hpp"
#include "crammer/config/yaml_binder.hpp"

namespace crammer {
namespace {

void bind_model(YamlBinder& b, ModelEntry& m) {
  b.str("name", m.name);
  b.str("path", m.path);
  b.str("dtype", m.dtype);
  b.str("tokenizer", m.tokenizer);
}

}  // namespace

void bind_fields(YamlBinder& b, ExperimentConfig& c) {
  b.records("models", c.models, bind_model, "models (each with name, path, dtype)");
  b.section("corpus", [&](YamlBinder& s) {
    s.str("format", c.corpus.format);
    s.str_list("paths", c.corpus.paths);
    s.str("text_field", c.corpus.text_field);
    s.str_list("text_kind", c.corpus.text_kind);
    s.opt_str("word_list", c.corpus.word_list);
    s.i64("samples", c.corpus.samples);
    s.u64("seed", c.corpus.seed);
    s.str("add_bos", c.corpus.add_bos);
    s.i64("prefix_tokens", c.corpus.prefix_tokens);
  });
  b.section("cram", [&](YamlBinder& s) {
    s.i64_list("n_mem", c.cram.n_mem);
    s.i64_list("lengths", c.cram.lengths);
    s.str("length_mode", c.cram.length_mode);
    s.str("search", c.cram.search);
    s.boolean("carry_optimizer", c.cram.carry_optimizer);
    s.str("growth", c.cram.growth);
    s.i64("restarts", c.cram.restarts);
    s.i64("mem_rank", c.cram.mem_rank);
    s.boolean("predict_first_token", c.cram.predict_first_token);
    s.str("init", c.cram.init);
    s.f64("init_std_scale", c.cram.init_std_scale);
    s.boolean("decode_check", c.cram.decode_check);
    s.boolean("in_context_control", c.cram.in_context_control);
    s.str("one_step", c.cram.one_step);
    s.opt_str("init_mem", c.cram.init_mem);
    s.section("optimizer", [&](YamlBinder& o) {
      auto& opt = c.cram.optimizer;
      o.f64("lr", opt.lr);
      o.f64("beta1", opt.beta1);
      o.f64("beta2", opt.beta2);
      o.f64("eps", opt.eps);
      o.f64("weight_decay", opt.weight_decay);
      o.i64("max_steps", opt.max_steps);
      o.i64("patience", opt.patience);
      o.f64("target_accuracy", opt.target_accuracy);
      o.str("schedule", opt.schedule);
      o.i64("warmup_steps", opt.warmup_steps);
      o.f64("min_lr", opt.min_lr);
      o.i64("schedule_steps", opt.schedule_steps);
    });
    s.section("loss", [&](YamlBinder& l) {
      auto& loss = c.cram.loss;
      l.i64("first_tokens", loss.first_tokens);
      l.f64("first_weight", loss.first_weight);
      l.f64("align_alpha", loss.align_alpha);
      l.i64("align_layers", loss.align_layers);
      l.str("align_from", loss.align_from);
      l.str("align_distance", loss.align_distance);
    });
  });
  b.section("batching", [&](YamlBinder& s) {
    s.i64("batch_size", c.batching.batch_size);
    s.i64("head_chunk", c.batching.head_chunk);
  });
  b.section("runtime", [&](YamlBinder& s) {
    s.str("device", c.runtime.device);
    s.str("attention", c.runtime.attention);
    s.i64("threads", c.runtime.threads);
    s.u64("seed", c.runtime.seed);
    s.str("log_level", c.runtime.log_level);
    s.f64("heartbeat_seconds", c.runtime.heartbeat_seconds);
    s.f64("worker_timeout_seconds", c.runtime.worker_timeout_seconds);
  });
  b.section("output", [&](YamlBinder& s) {
    s.str("path", c.output.path);
    s.boolean("save_memory", c.output.save_memory);
    s.i64("curves_every", c.output.curves_every);
    s.boolean("attention_mass", c.output.attention_mass);
    s.f64("flush_seconds", c.output.flush_seconds);
  });
}

}  // namespace crammer
