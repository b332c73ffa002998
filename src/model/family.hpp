// A model family: everything crammer knows about one transformers architecture, in one record
// that the family's own file (gpt2.cpp, llama.cpp, ...) provides and families.def lists once.
// config.json reading/validation/writing, make-model's defaults, the checkpoint's naming (base
// prefix, ignorable buffers, LM head) and the network's constructor all come from here:
// supported_model_types, read_model_spec, write_model_spec, make-model, the recipe's check and
// load_model derive from the list. Internal to the model layer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config_fields.hpp"
#include "crammer/model/make_model.hpp"

namespace c10 {
struct TensorOptions;
}

namespace crammer {

class CausalLM;

struct Family {
  std::string model_type;
  std::string hf_class;  // config.json "architectures"

  // --- config.json
  // The family's names for the sizes every family has (for validation messages).
  std::string hidden_field = "hidden_size";
  std::string heads_field = "num_attention_heads";
  std::string layers_field = "num_hidden_layers";
  std::string ffn_field = "intermediate_size";
  std::string positions_field = "max_position_embeddings";
  bool head_dim_field = false;  // config.json may set head_dim apart from hidden_size / heads
  bool rotary = true;           // rotary positions: the rotated dims are validated
  bool attention = true;        // false (mamba): no heads, head_dim or position limit to validate
  // Every field but model_type, vocab_size, bos/eos ids and dtype (read_model_spec's own).
  void (*read)(const ConfigFields&, ModelSpec&) = nullptr;
  // The family's fields ("architectures" is written from hf_class).
  void (*write)(const ModelSpec&, json&) = nullptr;
  // make-model: the family's defaults and option checks on a spec whose shared sizes are set
  // (intermediate size, norm, activation, rotary, tying); `fail` throws naming the option.
  void (*make_defaults)(const MakeModelOptions&, ModelSpec&, void (*fail)(const std::string&)) = nullptr;
  // The make-model options only some families take that this one does (kFamilyOptions).
  std::vector<std::string> options;

  // --- checkpoint and network
  std::string base_prefix;  // "transformer." | "gpt_neox." | "model.": absent in base-model saves
  std::vector<std::string> ignored;  // buffers old checkpoints carry; "{}" = layer index
  std::string head;  // the LM head tensor, which a tied checkpoint may still carry
  std::function<std::shared_ptr<CausalLM>(const ModelSpec&, const c10::TensorOptions&)> build;
};

#define CRAMMER_FAMILY(name) const Family& name##_family();
#include "families.def"
#undef CRAMMER_FAMILY

const std::vector<const Family*>& families();
const Family* find_family(const std::string& model_type);  // null when unknown

}  // namespace crammer
