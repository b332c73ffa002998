// Access to a spec's family-owned fields (ModelSpec::family_fields): the family's reader fills
// its own struct, its network reads it back. Internal to the model layer.
#pragma once

#include <memory>

#include "crammer/model/hf_config.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

// The spec's F; F's defaults (the config class's) when the spec carries none, as a spec built
// by hand does. ModelLoadError naming the model type when it carries another family's fields.
template <class F>
const F& fields_of(const ModelSpec& s) {
  if (!s.family_fields) {
    static const F defaults{};
    return defaults;
  }
  const auto* f = dynamic_cast<const F*>(s.family_fields.get());
  if (!f) throw ModelLoadError(s.model_type + ": the spec carries another family's fields");
  return *f;
}

// The spec's F to fill: a copy of what it carries (other specs sharing it keep theirs), or F's
// defaults.
template <class F>
F& own_fields(ModelSpec& s) {
  auto f = std::make_shared<F>(fields_of<F>(s));
  s.family_fields = f;
  return *f;
}

}  // namespace crammer
