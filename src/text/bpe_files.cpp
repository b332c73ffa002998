// Parsers of BPE files into a BpeSpec: Hugging Face tokenizer.json (byte-level or
// SentencePiece-style), and GPT-2's vocab.json + merges.txt. Only reading and validating here;
// the model is bpe.cpp.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crammer/text/bpe.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"

namespace crammer {
namespace {

using nlohmann::json;

json parse_json(const std::string& path) {
  std::string text = read_file<TokenizerError>(path, "tokenizer file");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw TokenizerError(path + ": malformed JSON: " + e.what());
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& what) {
  throw TokenizerError(path + ": " + field + ": " + what);
}

[[noreturn]] void unsupported(const std::string& path, const std::string& field,
                              const std::string& what) {
  throw TokenizerUnsupported(path + ": " + field + ": " + what);
}

bool get_bool(const json& obj, const char* key, bool fallback, const std::string& path,
              const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(path, field + "." + key, "expected true or false, got " + it->dump());
  return it->get<bool>();
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

void add_pre_tokenizer(const json& node, const std::string& path, const std::string& field,
                       std::vector<PreTokenizerStep>& steps) {
  if (node.is_null()) return;
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string()) {
    fail(path, field, "expected an object with a \"type\"");
  }
  std::string type = node["type"];
  if (type == "Sequence") {
    const json& list = node.value("pretokenizers", json());
    if (!list.is_array()) fail(path, field + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      add_pre_tokenizer(list[i], path, field + ".pretokenizers[" + std::to_string(i) + "]", steps);
    }
  } else if (type == "ByteLevel") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::byte_level;
    // Hugging Face's defaults when the keys are absent.
    step.add_prefix_space = get_bool(node, "add_prefix_space", true, path, field);
    step.use_regex = get_bool(node, "use_regex", true, path, field);
    steps.push_back(step);
  } else if (type == "Split") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::split;
    const json& pattern = node.value("pattern", json());
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      step.pattern = pattern["Regex"];
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      step.pattern = pattern["String"];
      step.literal = true;
    } else {
      fail(path, field + ".pattern", "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    }
    std::string behavior = node.value("behavior", std::string("Isolated"));
    if (behavior == "Isolated")
      step.behavior = SplitBehavior::isolated;
    else if (behavior == "Removed")
      step.behavior = SplitBehavior::removed;
    else if (behavior == "MergedWithPrevious")
      step.behavior = SplitBehavior::merged_with_previous;
    else if (behavior == "MergedWithNext")
      step.behavior = SplitBehavior::merged_with_next;
    else {
      unsupported(path, field + ".behavior",
                  "\"" + behavior +
                      "\" is not supported (supported: "
                      "Isolated, Removed, MergedWithPrevious, MergedWithNext)");
    }
    if (get_bool(node, "invert", false, path, field)) {
      unsupported(path, field + ".invert", "true is not supported");
    }
    steps.push_back(step);
  } else if (type == "Digits") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::split;
    step.pattern = get_bool(node, "individual_digits", false, path, field) ? "\\p{N}" : "\\p{N}+";
    steps.push_back(step);
  } else {
    unsupported(path, field + ".type",
                "\"" + type +
                    "\" is not supported (supported: ByteLevel, "
                    "Split, Digits, Sequence of them)");
  }
}

// The special token that TemplateProcessing (or Roberta/Bert processing) puts before $A.
std::optional<std::string> template_bos(const json& node) {
  if (!node.is_object()) return std::nullopt;
  std::string type = node.value("type", std::string());
  if (type == "Sequence" && node.contains("processors") && node["processors"].is_array()) {
    for (const auto& p : node["processors"])
      if (auto bos = template_bos(p)) return bos;
  } else if (type == "TemplateProcessing" && node.contains("single") && node["single"].is_array()) {
    for (const auto& item : node["single"]) {
      if (item.contains("Sequence")) return std::nullopt;  // reached $A: nothing before it
      if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
          item["SpecialToken"]["id"].is_string()) {
        return item["SpecialToken"]["id"].get<std::string>();
      }
    }
  } else if ((type == "RobertaProcessing" || type == "BertProcessing") && node.contains("cls") &&
             node["cls"].is_array() && !node["cls"].empty() && node["cls"][0].is_string()) {
    return node["cls"][0].get<std::string>();
  }
  return std::nullopt;
}

std::string type_of(const json& node) {
  return node.is_object() ? node.value("type", std::string()) : std::string();
}

// The members of a Sequence node (KEY: "normalizers", "decoders", ...), or the node itself.
std::vector<json> flatten(const json& node, const char* key) {
  if (type_of(node) == "Sequence" && node.contains(key) && node[key].is_array())
    return std::vector<json>(node[key].begin(), node[key].end());
  if (node.is_null()) return {};
  return {node};
}

bool is_sentencepiece_style(const BpeSpec& spec, const json& normalizer, const json& pre) {
  if (type_of(pre) == "Metaspace") return true;
  // A ByteLevel pre-tokenizer makes it a byte-level BPE whatever byte_fallback says (SmolLM2's
  // files set both): every byte has its symbol, so the fallback never fires (checked on load).
  for (const auto& p : flatten(pre, "pretokenizers"))
    if (type_of(p) == "ByteLevel") return false;
  if (spec.byte_fallback) return true;
  for (const auto& n : flatten(normalizer, "normalizers"))
    if (type_of(n) == "Prepend" || type_of(n) == "Replace") return true;
  return false;
}

// "▁" handling of a SentencePiece-style tokenizer.json, in either layout transformers writes:
// pre_tokenizer Metaspace (prepend_scheme first|always|never), or normalizers
// Prepend("▁") + Replace(" ", "▁") with no pre-tokenizer (Llama-2's files). Anything that
// would tokenize differently is refused.
MetaspaceSpec read_metaspace(const json& root, const json& normalizer, const json& pre,
                             const std::string& path) {
  const std::string meta = "\xE2\x96\x81";
  MetaspaceSpec m;
  auto pattern_string = [](const json& node) {
    const json& p = node.value("pattern", json());
    return p.is_object() && p.contains("String") && p["String"].is_string()
               ? p["String"].get<std::string>()
               : std::string("?");
  };
  bool prepend = false, replace = false;
  for (const auto& n : flatten(normalizer, "normalizers")) {
    std::string t = type_of(n);
    if (t == "Prepend" && n.value("prepend", std::string()) == meta) {
      prepend = true;
    } else if (t == "Replace" && pattern_string(n) == " " && n.value("content", std::string()) == meta) {
      replace = true;
    } else {
      unsupported(path, "normalizer", "type " + (t.empty() ? n.dump() : t) +
                                          " is not supported in a SentencePiece-style tokenizer "
                                          "(supported: Prepend(\"▁\"), Replace(\" \", \"▁\"))");
    }
  }
  if (type_of(pre) == "Metaspace") {
    if (prepend || replace)
      unsupported(path, "normalizer", "Prepend/Replace together with a Metaspace pre_tokenizer");
    if (pre.value("replacement", meta) != meta)
      unsupported(path, "pre_tokenizer.replacement", "only \"▁\" is supported");
    if (get_bool(pre, "split", true, path, "pre_tokenizer"))
      unsupported(path, "pre_tokenizer.split", "true is not supported (transformers writes false)");
    std::string scheme = pre.value("prepend_scheme", std::string());
    if (scheme.empty())  // older files: add_prefix_space
      scheme = get_bool(pre, "add_prefix_space", true, path, "pre_tokenizer") ? "always" : "never";
    if (scheme == "first")
      m.prepend = MetaspaceSpec::Prepend::first;
    else if (scheme == "always")
      m.prepend = MetaspaceSpec::Prepend::always;
    else if (scheme == "never")
      m.prepend = MetaspaceSpec::Prepend::never;
    else
      fail(path, "pre_tokenizer.prepend_scheme", "expected first, always or never, got " + scheme);
  } else if (!pre.is_null()) {
    unsupported(path, "pre_tokenizer", "type " + type_of(pre) +
                                           " is not supported in a SentencePiece-style tokenizer "
                                           "(supported: Metaspace, or none with Prepend/Replace)");
  } else {
    if (!replace)
      unsupported(path, "normalizer", "a SentencePiece-style tokenizer needs Replace(\" \", \"▁\") "
                                      "or a Metaspace pre_tokenizer");
    m.prepend = prepend ? MetaspaceSpec::Prepend::always : MetaspaceSpec::Prepend::never;
    m.prepend_always = true;
  }
  // Decoding: Replace("▁", " ") + ByteFallback + Fuse [+ Strip(" ", 1, 0)], or Metaspace.
  m.strip_decoded = false;
  for (const auto& d : flatten(root.value("decoder", json()), "decoders")) {
    std::string t = type_of(d);
    if (t == "Strip" && d.value("content", std::string()) == " " && d.value("start", 0) >= 1)
      m.strip_decoded = true;
    if (t == "Metaspace" && d.value("prepend_scheme", std::string("always")) != "never")
      m.strip_decoded = true;
  }
  return m;
}

}  // namespace

namespace {

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
                    "\" is not supported (supported: \"BPE\" with "
                    "byte-level pre-tokenization in tokenizer.json; SentencePiece models as "
                    "tokenizer.model)");
  }
  spec.byte_fallback = get_bool(model, "byte_fallback", false, path, "model");
  spec.fuse_unk = get_bool(model, "fuse_unk", false, path, "model");
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    if (!model["unk_token"].is_string()) fail(path, "model.unk_token", "expected a string or null");
    spec.unk_token = model["unk_token"].get<std::string>();
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && it->is_string() && !it->get<std::string>().empty()) {
      unsupported(path, std::string("model.") + key,
                  "is set; supported: byte-level BPE without it");
    }
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

  const json& normalizer = root.value("normalizer", json());
  const json& pre_tokenizer = root.value("pre_tokenizer", json());
  if (is_sentencepiece_style(spec, normalizer, pre_tokenizer)) {
    spec.metaspace = read_metaspace(root, normalizer, pre_tokenizer, path);
  } else {
    // Byte-level BPE files carry no normalizer, or NFC (Pythia/GPT-NeoX).
    std::vector<const json*> normalizers;
    if (normalizer.is_object() && normalizer.value("type", "") == "Sequence") {
      const json& list = normalizer.value("normalizers", json::array());
      for (const auto& n : list) normalizers.push_back(&n);
    } else if (!normalizer.is_null()) {
      normalizers.push_back(&normalizer);
    }
    for (const json* n : normalizers) {
      std::string ntype = n->is_object() ? n->value("type", std::string("?")) : n->dump();
      if (ntype != "NFC") {
        unsupported(path, "normalizer",
                    "type " + ntype + " is not supported (supported: null, NFC)");
      }
      spec.nfc = true;
    }
    add_pre_tokenizer(pre_tokenizer, path, "pre_tokenizer", spec.pre_tokenizer);
    if (spec.pre_tokenizer.empty() ||
        spec.pre_tokenizer.back().kind != PreTokenizerStep::Kind::byte_level) {
      unsupported(path, "pre_tokenizer",
                  "has no final ByteLevel step: not a byte-level BPE "
                  "(supported: ByteLevel, or Sequence[Split..., ByteLevel]; or SentencePiece-style "
                  "with Metaspace and byte_fallback)");
    }
  }

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
    spec.added.push_back(std::move(tok));
  }
  spec.template_bos = template_bos(root.value("post_processor", json()));
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
  step.add_prefix_space = false;
  step.use_regex = true;
  spec.pre_tokenizer.push_back(step);
  return spec;
}

}  // namespace crammer
