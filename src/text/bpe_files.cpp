// Parsers of BPE files into a BpeSpec: Hugging Face tokenizer.json (its model, added tokens
// and, through tokenizer_json_components.cpp, the pipeline sections), and GPT-2's vocab.json +
// merges.txt. Only reading and validating here; the tokenizer is bpe.cpp.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crammer/text/bpe.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"
#include "tokenizer_json_components.hpp"

namespace crammer {
namespace {

using nlohmann::json;
using tokenizer_json::fail;
using tokenizer_json::get_bool;
using tokenizer_json::unsupported;

json parse_json(const std::string& path) {
  std::string text = read_file<TokenizerError>(path, "tokenizer file");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw TokenizerError(path + ": malformed JSON: " + e.what());
  }
}

// A token id: a JSON integer that fits int32 and is not negative (get<int32_t> of anything else
// would truncate).
bool valid_id(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(INT32_MAX);
  return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX;
}

std::vector<std::pair<std::string, int32_t>> read_vocab_object(const json& vocab,
                                                               const std::string& path,
                                                               const std::string& field) {
  if (!vocab.is_object()) fail(path, field, "expected an object {token: id}");
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!valid_id(it.value())) {
      fail(path, field + "[\"" + it.key() + "\"]",
           "expected an integer id in [0, 2^31), got " + it.value().dump());
    }
    out.emplace_back(it.key(), it.value().get<int32_t>());
  }
  return out;
}

BpeSpec read_tokenizer_json_fields(const std::string& path) {
  json root = parse_json(path);
  if (!root.is_object()) fail(path, "(top level)", "expected a JSON object");
  BpeSpec spec;
  spec.source = path;
  spec.vocab_label = "model.vocab";

  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) {
    fail(path, "model",
         "missing section (expected an object with \"type\": \"BPE\", \"vocab\" "
         "and \"merges\")");
  }
  const json& model = *model_it;
  std::string type = model.value("type", std::string("BPE"));  // old files omit the tag
  if (type != "BPE") {
    unsupported(path, "model.type",
                "\"" + type +
                    "\" is not supported (supported: \"BPE\" in tokenizer.json; SentencePiece "
                    "models as tokenizer.model)");
  }
  spec.byte_fallback = get_bool(model, "byte_fallback", false, path, "model");
  spec.fuse_unk = get_bool(model, "fuse_unk", false, path, "model");
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    if (!model["unk_token"].is_string()) fail(path, "model.unk_token", "expected a string or null");
    spec.unk_token = model["unk_token"].get<std::string>();
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it == model.end() || it->is_null()) continue;
    if (!it->is_string()) fail(path, std::string("model.") + key, "expected a string or null");
    (key[0] == 'c' ? spec.continuing_subword_prefix : spec.end_of_word_suffix) = *it;
  }
  // Dropout samples merges at random: a tokenizer for experiments must be deterministic.
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    unsupported(path, "model.dropout", dropout->dump() + " is not supported (null or 0: crammer "
                                                         "tokenizes deterministically)");
  }
  spec.ignore_merges = get_bool(model, "ignore_merges", false, path, "model");
  if (!model.contains("vocab")) fail(path, "model.vocab", "missing (expected {token: id})");
  spec.vocab = read_vocab_object(model["vocab"], path, "model.vocab");

  if (!model.contains("merges") || !model["merges"].is_array()) {
    fail(path, "model.merges",
         "missing or not an array (expected \"a b\" strings or [a, b] pairs)");
  }
  const json& merges = model["merges"];
  spec.merges.reserve(merges.size());
  spec.merge_labels.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string label = "model.merges[" + std::to_string(i) + "]";
    const json& m = merges[i];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size() ||
          s.find(' ', space + 1) != std::string::npos) {
        fail(path, label, "expected \"a b\" (two symbols, one space), got " + m.dump());
      }
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail(path, label, "expected \"a b\" or [\"a\", \"b\"], got " + m.dump());
    }
    spec.merge_labels.push_back(std::move(label));
  }

  tokenizer_json::read_normalizer(root.value("normalizer", json()), path, "normalizer",
                                  spec.normalizer);
  tokenizer_json::read_pre_tokenizer(root.value("pre_tokenizer", json()), path, "pre_tokenizer",
                                     spec.pre_tokenizer);
  const json& decoder = root.value("decoder", json());
  spec.has_decoder = !decoder.is_null();
  tokenizer_json::read_decoder(decoder, path, "decoder", spec.decoder);

  const json& added = root.value("added_tokens", json::array());
  if (!added.is_array()) fail(path, "added_tokens", "expected an array");
  for (size_t i = 0; i < added.size(); ++i) {
    std::string field = "added_tokens[" + std::to_string(i) + "]";
    const json& a = added[i];
    if (!a.is_object()) fail(path, field, "expected an object");
    if (!a.contains("id") || !valid_id(a["id"])) {
      fail(path, field + ".id", "expected a non-negative integer");
    }
    if (!a.contains("content") || !a["content"].is_string() ||
        a["content"].get_ref<const std::string&>().empty()) {
      fail(path, field + ".content", "expected a non-empty string");
    }
    AddedToken tok;
    tok.id = a["id"].get<int32_t>();
    tok.content = a["content"];
    tok.special = get_bool(a, "special", false, path, field);
    tok.lstrip = get_bool(a, "lstrip", false, path, field);
    tok.rstrip = get_bool(a, "rstrip", false, path, field);
    tok.single_word = get_bool(a, "single_word", false, path, field);
    tok.normalized = get_bool(a, "normalized", !tok.special, path, field);
    spec.added.push_back(std::move(tok));
  }
  spec.template_bos = tokenizer_json::read_post_processor(root.value("post_processor", json()),
                                                          path, "post_processor");
  spec.from_tokenizer_json = true;
  return spec;
}

}  // namespace

BpeSpec read_tokenizer_json(const std::string& path) {
  try {
    return read_tokenizer_json_fields(path);
  } catch (const json::exception& e) {
    // The field checks above come first; this is the net under a field of a type they do not
    // foresee (found by fuzz_tokenizer_json: "pre_tokenizer": {"type": true}).
    throw TokenizerError(path + ": a field has an unexpected type: " + e.what());
  }
}

BpeSpec read_vocab_merges(const std::string& vocab_path, const std::string& merges_path) {
  BpeSpec spec;
  spec.source = merges_path;  // merge errors name their line here
  spec.vocab_label = vocab_path;
  json vocab = parse_json(vocab_path);
  spec.vocab = read_vocab_object(vocab, vocab_path, "(top level)");

  std::istringstream in(read_file<TokenizerError>(merges_path, "merges file"));
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw TokenizerError(merges_path + ": line " + std::to_string(line_no) +
                           ": expected two symbols separated by one space, got '" + line + "'");
    }
    spec.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    spec.merge_labels.push_back("line " + std::to_string(line_no));
  }
  PreTokenizerStep step;  // GPT-2: ByteLevel(add_prefix_space=false) with the GPT-2 regex
  step.kind = PreTokenizerStep::Kind::byte_level;
  step.name = "ByteLevel";
  step.add_prefix_space = false;
  step.use_regex = true;
  spec.pre_tokenizer.push_back(step);
  spec.decoder.push_back(DecoderStep{});  // ByteLevel
  return spec;
}

}  // namespace crammer
