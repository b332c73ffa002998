// `crammer pretrain RECIPE.yaml [a.b=v ...]`: trains a small causal LM with crammer's own model
// code (the demo model, models/demo) and writes an HF-format checkpoint with heldout.json and
// RECIPE.md. The trainer lives in the train layer; this file is argument plumbing and the record.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "crammer/train/pretrain.hpp"
#include "crammer/train/recipe.hpp"
#include "crammer/util/error.hpp"
#include "options.hpp"

namespace crammer {
namespace {

std::string shell_quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$\\") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_record(const PretrainRecipe& r, const PretrainResult& res, const std::string& command) {
  std::ostringstream md;
  md << std::setprecision(6);
  const auto& t = r.train;
  md << "# " << r.output.dir << ": how it was trained\n\n"
     << "Written by `crammer pretrain` at the end of the run.\n\n"
     << "Command (from the repository root):\n\n    " << command << "\n\n"
     << "| what | value |\n|---|---|\n"
     << "| architecture | " << r.model.arch << ", " << r.model.layers << " layers, d_model " << r.model.d_model
     << ", " << r.model.heads << " heads, tied embeddings " << (r.model.tie_word_embeddings ? "yes" : "no") << " |\n"
     << "| parameters | " << res.parameters << " |\n"
     << "| stored dtype | " << r.output.dtype << " |\n"
     << "| tokenizer | " << r.data.tokenizer << " |\n"
     << "| training tokens | " << res.train_tokens << " (" << res.seen_vocab << " distinct ids) |\n"
     << "| seed | " << t.seed << " |\n"
     << "| threads | " << t.threads << " |\n"
     << "| steps x batch x seq_len | " << t.steps << " x " << t.batch_size << " x " << t.seq_len << " = "
     << t.steps * t.batch_size * t.seq_len << " tokens |\n"
     << "| lr / warmup / min_lr | " << t.lr << " / " << t.warmup << " / " << t.min_lr << " |\n"
     << "| started from | " << (t.init_from.empty() ? "random init" : t.init_from) << " |\n"
     << "| wall time (training) | " << std::fixed << std::setprecision(0) << res.train_wall_s << " s |\n"
     << "| throughput | " << res.tokens_per_s << " tokens/s |\n"
     << std::setprecision(4) << "| final train loss (mean of last 50 steps) | " << res.final_train_loss << " |\n"
     << "| held-out CE, f32 weights | " << res.heldout_ce_trained << " nats/token |\n"
     << "| held-out CE, reloaded checkpoint (recorded) | " << res.heldout_ce_reloaded << " nats/token |\n\n"
     << "Held-out CE: "
     << (t.eval_tokens > 0 ? "the first " + std::to_string(t.eval_tokens) + " tokens of " : std::string("all of "))
     << r.data.heldout << " in windows of " << t.seq_len << " tokens, " << res.heldout_targets
     << " next-token targets, the checkpoint reloaded in f32 (heldout.json holds the exact value).\n\n"
     << "Held-out CE during training:\n\n| step | CE |\n|---|---|\n";
  for (const auto& [s, ce] : res.heldout) md << "| " << s << " | " << ce << " |\n";
  md << "\nThe resolved recipe:\n\n```yaml\n" << r.yaml << "```\n";
  std::ofstream out(std::filesystem::path(r.output.dir) / "RECIPE.md");
  out << md.str();
  if (!out) throw ConfigError("pretrain: cannot write " + r.output.dir + "/RECIPE.md");
}

}  // namespace

int cmd_pretrain(const Args& args) {
  po::options_description desc("options");
  po::options_description hidden;
  hidden.add_options()("recipe", po::value<std::string>()->required(), "recipe file")(
      "overrides", po::value<std::vector<std::string>>()->multitoken(), "a.b=v overrides");
  po::positional_options_description pos;
  pos.add("recipe", 1).add("overrides", -1);
  po::variables_map vm;
  if (!parse_command_line("pretrain",
                          "RECIPE.yaml [a.b=v ...]\n\ntrains a small causal LM (see docs/pretrain.md), e.g.\n"
                          "  crammer pretrain experiments/pretrain-demo.yaml train.steps=20 output.dir=/tmp/m",
                          desc, pos, args, vm, hidden))
    return 0;
  std::vector<std::string> overrides;
  if (vm.count("overrides")) overrides = vm["overrides"].as<std::vector<std::string>>();
  const std::string path = vm["recipe"].as<std::string>();
  PretrainRecipe recipe = load_recipe(path, overrides);
  std::string command = "crammer pretrain " + shell_quote(path);
  for (const auto& o : overrides) command += " " + shell_quote(o);

  PretrainResult res = pretrain(recipe);
  if (!recipe.output.dir.empty()) write_record(recipe, res, command);
  std::cout << "final train loss " << std::fixed << std::setprecision(4) << res.final_train_loss
            << ", held-out CE " << (res.heldout_ce_reloaded >= 0 ? res.heldout_ce_reloaded : res.heldout_ce_trained)
            << " nats/token, " << std::setprecision(0) << res.tokens_per_s << " tokens/s\n";
  return 0;
}

}  // namespace crammer
