// SentencePiece tokenizer.model (Llama-1/2, Mistral, T5 family) through Debian's
// libsentencepiece. Not byte-level BPE: that is bpe.cpp.
#include <sentencepiece_processor.h>

#include "crammer/text/tokenizer_files.hpp"
#include "crammer/util/error.hpp"

namespace crammer {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& path, const TokenizerConfig& config) : path_(path) {
    auto status = sp_.Load(path);
    if (!status.ok()) {
      throw TokenizerError(path + ": cannot load SentencePiece model: " + status.ToString());
    }
    bos_ = special(config.bos_token, sp_.bos_id(), config.path + ": bos_token");
    eos_ = special(config.eos_token, sp_.eos_id(), config.path + ": eos_token");
    uses_bos_ = bos_.has_value() && config.add_bos_token.value_or(true);
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> ids;
    auto status = sp_.Encode(absl::string_view(text.data(), text.size()), &ids);
    if (!status.ok()) throw TokenizerError(path_ + ": encode failed: " + status.ToString());
    std::vector<int32_t> out;
    out.reserve(ids.size() + 1);
    if (add_bos && uses_bos_) out.push_back(*bos_);
    out.insert(out.end(), ids.begin(), ids.end());
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::vector<int> in(ids.begin(), ids.end());
    for (int id : in) {
      if (id < 0 || id >= sp_.GetPieceSize()) {
        throw TokenizerError(path_ + ": decode: id " + std::to_string(id) +
                             " is not a token of this vocabulary (size " +
                             std::to_string(sp_.GetPieceSize()) + ")");
      }
    }
    std::string text;
    auto status = sp_.Decode(in, &text);
    if (!status.ok()) throw TokenizerError(path_ + ": decode failed: " + status.ToString());
    return text;
  }

  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  bool uses_bos() const override { return uses_bos_; }
  std::string describe() const override {
    return "SentencePiece from " + path_ + ": " + std::to_string(vocab_size()) + " pieces, bos " +
           (bos_ ? std::to_string(*bos_) + (uses_bos_ ? " (prepended)" : " (not prepended)")
                 : std::string("none")) +
           ", eos " + (eos_ ? std::to_string(*eos_) : std::string("none"));
  }

 private:
  // The config's token name wins over the model's own id; -1 from the model means none.
  std::optional<int32_t> special(const std::optional<std::string>& name, int model_id,
                                 const std::string& where) const {
    if (name) {
      int id = sp_.PieceToId(*name);
      if (sp_.IsUnknown(id) && sp_.IdToPiece(id) != *name) {
        throw TokenizerError(where + ": '" + *name + "' is not a piece of " + path_);
      }
      return id;
    }
    if (model_id < 0) return std::nullopt;
    return model_id;
  }

  std::string path_;
  sentencepiece::SentencePieceProcessor sp_;
  std::optional<int32_t> bos_, eos_;
  bool uses_bos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model_path,
                                              const TokenizerConfig& config) {
  return std::make_unique<SentencePieceTokenizer>(model_path, config);
}

}  // namespace crammer
