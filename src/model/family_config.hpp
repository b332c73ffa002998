// A model family's config.json dialect, provided by the family's own file (gpt2.cpp, ...) and
// listed once in families.def: read_model_spec, write_model_spec and supported_model_types
// derive from the list. Internal to the model layer.
#pragma once

#include <string>
#include <vector>

#include "config_fields.hpp"

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
  // The family's fields, "architectures" included.
  void (*write)(const ModelSpec&, json&) = nullptr;
};

#define CRAMMER_FAMILY(name) const FamilyConfig& name##_config();
#include "families.def"
#undef CRAMMER_FAMILY

const std::vector<const FamilyConfig*>& family_configs();

}  // namespace crammer
