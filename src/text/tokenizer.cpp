// load_tokenizer: picks the tokenizer file of a directory (tokenizer.json, vocab.json +
// merges.txt, tokenizer.model), reads tokenizer_config.json and resolves BOS/EOS per family.
// The models themselves are bpe.cpp and sentencepiece_tokenizer.cpp.
#include "crammer/text/tokenizer.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crammer/text/tokenizer_files.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json parse_json_file(const std::string& path) {
  std::string text = read_file<TokenizerError>(path, "tokenizer file");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw TokenizerError(path + ": malformed JSON: " + e.what());
  }
}

// bos_token / eos_token are a string, {"content": ...} (AddedToken), or null.
std::optional<std::string> token_field(const json& root, const char* key, const std::string& path) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  throw TokenizerError(path + ": " + key + ": expected a string or {\"content\": ...}, got " +
                       it->dump());
}

std::string join(const fs::path& dir, const char* name) { return (dir / name).string(); }

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& dir) {
  TokenizerConfig config;
  std::string path = join(dir, "tokenizer_config.json");
  if (fs::exists(path)) {
    json root = parse_json_file(path);
    if (!root.is_object()) throw TokenizerError(path + ": (top level): expected a JSON object");
    config.path = path;
    config.bos_token = token_field(root, "bos_token", path);
    config.eos_token = token_field(root, "eos_token", path);
    if (root.contains("add_bos_token") && !root["add_bos_token"].is_null()) {
      if (!root["add_bos_token"].is_boolean()) {
        throw TokenizerError(path + ": add_bos_token: expected true or false, got " +
                             root["add_bos_token"].dump());
      }
      config.add_bos_token = root["add_bos_token"].get<bool>();
    }
    const json& decoder = root.value("added_tokens_decoder", json::object());
    if (!decoder.is_object()) {
      throw TokenizerError(path + ": added_tokens_decoder: expected an object {id: token}");
    }
    for (auto it = decoder.begin(); it != decoder.end(); ++it) {
      std::string field = "added_tokens_decoder[\"" + it.key() + "\"]";
      AddedToken tok;
      try {
        size_t used = 0;
        tok.id = std::stoi(it.key(), &used);
        if (used != it.key().size() || tok.id < 0) throw std::invalid_argument("id");
      } catch (const std::exception&) {
        throw TokenizerError(path + ": " + field + ": key must be a non-negative integer id");
      }
      const json& v = it.value();
      if (!v.is_object() || !v.contains("content") || !v["content"].is_string()) {
        throw TokenizerError(path + ": " + field + ".content: expected a string");
      }
      tok.content = v["content"];
      tok.special = v.value("special", false);
      tok.lstrip = v.value("lstrip", false);
      tok.rstrip = v.value("rstrip", false);
      tok.single_word = v.value("single_word", false);
      tok.normalized = v.value("normalized", !tok.special);
      config.added_tokens.push_back(std::move(tok));
    }
  }
  std::string map_path = join(dir, "special_tokens_map.json");
  if ((!config.bos_token || !config.eos_token) && fs::exists(map_path)) {
    json root = parse_json_file(map_path);
    if (!root.is_object()) throw TokenizerError(map_path + ": (top level): expected a JSON object");
    if (!config.bos_token) config.bos_token = token_field(root, "bos_token", map_path);
    if (!config.eos_token) config.eos_token = token_field(root, "eos_token", map_path);
    if (config.path.empty()) config.path = map_path;
  }
  return config;
}

std::unique_ptr<BpeTokenizer> make_bpe(BpeSpec spec, const TokenizerConfig& config) {
  if (spec.added.empty()) spec.added = config.added_tokens;
  // Special tokens named by the config, and GPT-2's <|endoftext|>, are matched in the text
  // as Hugging Face's tokenizers do, even when the vocabulary files list them as plain tokens.
  std::vector<std::string> specials;
  if (config.bos_token) specials.push_back(*config.bos_token);
  if (config.eos_token) specials.push_back(*config.eos_token);
  specials.push_back("<|endoftext|>");
  for (const auto& name : specials) {
    bool listed = false;
    for (const auto& tok : spec.added) listed = listed || tok.content == name;
    if (listed) continue;
    for (const auto& [text, id] : spec.vocab) {
      if (text == name) {
        AddedToken tok;
        tok.id = id;
        tok.content = name;
        spec.added.push_back(tok);
        break;
      }
    }
  }
  const bool template_decides = spec.from_tokenizer_json;
  auto tok = std::make_unique<BpeTokenizer>(std::move(spec));
  auto resolve = [&](const std::string& name, const std::string& where) {
    auto id = tok->token_id(name);
    if (!id) {
      throw TokenizerError(where + ": '" + name +
                           "' is neither an added token nor in the vocabulary");
    }
    return *id;
  };
  if (tok->template_bos()) {
    int32_t id = resolve(*tok->template_bos(), tok->source() + ": post_processor special token");
    tok->set_bos(id, template_decides || config.add_bos_token.value_or(true));
  } else if (config.bos_token) {
    tok->set_bos(resolve(*config.bos_token, config.path + ": bos_token"),
                 !template_decides && config.add_bos_token.value_or(false));
  } else {
    tok->set_bos(tok->token_id("<|endoftext|>"), false);
  }
  if (config.eos_token) {
    tok->set_eos(resolve(*config.eos_token, config.path + ": eos_token"));
  } else {
    for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>"}) {
      if (auto id = tok->token_id(name)) {
        tok->set_eos(id);
        break;
      }
    }
  }
  return tok;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  if (!fs::is_directory(dir)) {
    throw TokenizerError(dir + ": not a directory (expected a checkpoint or tokenizer directory)");
  }
  TokenizerConfig config = read_tokenizer_config(dir);
  std::string json_path = join(dir, "tokenizer.json");
  std::string vocab_path = join(dir, "vocab.json");
  std::string merges_path = join(dir, "merges.txt");
  std::string model_path = join(dir, "tokenizer.model");
  if (fs::exists(json_path)) {
    try {
      return make_bpe(read_tokenizer_json(json_path), config);
    } catch (const TokenizerUnsupported& e) {
      if (!fs::exists(model_path)) throw;
      spdlog::info("{}; using {} instead", e.what(), model_path);
      return load_sentencepiece(model_path, config);
    }
  }
  bool has_vocab = fs::exists(vocab_path), has_merges = fs::exists(merges_path);
  if (has_vocab && has_merges) return make_bpe(read_vocab_merges(vocab_path, merges_path), config);
  if (has_vocab != has_merges && !fs::exists(model_path)) {
    throw TokenizerError(dir + ": found " + (has_vocab ? vocab_path : merges_path) + " but not " +
                         (has_vocab ? merges_path : vocab_path) +
                         " (a GPT-2 style tokenizer needs both)");
  }
  if (fs::exists(model_path)) return load_sentencepiece(model_path, config);
  throw TokenizerError(dir +
                       ": no tokenizer files (looked for tokenizer.json, vocab.json + "
                       "merges.txt, tokenizer.model)");
}

bool has_tokenizer(const std::string& dir) {
  return fs::exists(join(dir, "tokenizer.json")) || fs::exists(join(dir, "tokenizer.model")) ||
         (fs::exists(join(dir, "vocab.json")) && fs::exists(join(dir, "merges.txt")));
}

}  // namespace crammer
