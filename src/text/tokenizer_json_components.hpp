// Readers of the pipeline sections of a tokenizer.json (normalizer, pre_tokenizer, decoder,
// post_processor) into the component specs, with the JSON helpers bpe_files.cpp shares.
// Private to the text layer. Every error names PATH and the field ("pre_tokenizer.
// pretokenizers[1].type"); a component crammer lacks is TokenizerUnsupported naming its type.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crammer/text/normalizer.hpp"
#include "crammer/text/pre_tokenizer.hpp"
#include "crammer/text/token_decoder.hpp"

namespace crammer::tokenizer_json {

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& what);
[[noreturn]] void unsupported(const std::string& path, const std::string& field,
                              const std::string& what);
bool get_bool(const nlohmann::json& obj, const char* key, bool fallback, const std::string& path,
              const std::string& field);

void read_normalizer(const nlohmann::json& node, const std::string& path,
                     const std::string& field, std::vector<NormalizerStep>& out);
void read_pre_tokenizer(const nlohmann::json& node, const std::string& path,
                        const std::string& field, std::vector<PreTokenizerStep>& out);
void read_decoder(const nlohmann::json& node, const std::string& path, const std::string& field,
                  std::vector<DecoderStep>& out);
// Checks the post_processor's types; returns the special token it puts before $A (the BOS).
std::optional<std::string> read_post_processor(const nlohmann::json& node, const std::string& path,
                                               const std::string& field);

}  // namespace crammer::tokenizer_json
