// A model family's config.json dialect, provided by the family's own file (gpt2.cpp, ...) and
// listed once in families.def: read_model_spec, write_model_spec and supported_model_types
// derive from the list. Internal to the model layer.
#pragma once

#include <string>
#include <vector>

#include "config_fields.hpp"
#include "crammer/model/make_model.hpp"

namespace crammer {

struct FamilyConfig {
  std::string model_type;
  std::string hf_class;  // config.json "architectures"
  // The family's names for the sizes every family has (for validation messages).
  std::string hidden_field = "hidden_size";
  std::string heads_field = "num_attention_heads";
  std::string layers_field = "num_hidden_layers";
  bool head_dim_field = false;  // config.json may set head_dim apart from hidden_size / heads
  bool rotary = true;           // rotary positions: the rotated dims are validated
  // Every field but model_type, vocab_size, bos/eos ids and dtype (read_model_spec's own).
  void (*read)(const ConfigFields&, ModelSpec&) = nullptr;
  // The family's fields ("architectures" is written from hf_class).
  void (*write)(const ModelSpec&, json&) = nullptr;
  // make-model: the family's defaults and option checks on a spec whose shared sizes are set
  // (intermediate size, norm, activation, rotary, tying); `fail` throws naming the option.
  void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*fail)(const std::string&)) = nullptr;
};

#define CRAMMER_FAMILY(name) const FamilyConfig& name##_config();
#include "families.def"
#undef CRAMMER_FAMILY

const std::vector<const FamilyConfig*>& family_configs();
const FamilyConfig* find_family(const std::string& model_type);  // null when unknown

}  // namespace crammer
