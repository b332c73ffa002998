// SentencePiece tokenizer.model (Llama-1/2, Mistral, T5 family) through Debian's
// libsentencepiece, reached via the isolated shim (include/crammer/text/spm_shim.hpp explains
// why). Not byte-level BPE: that is bpe.cpp.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "crammer/text/spm_shim.hpp"
#include "crammer/text/tokenizer_files.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/sanitizer.hpp"

namespace crammer {
namespace {

constexpr size_t kErrLen = 1024;

template <class F>
void bind(void* lib, const char* name, F& fn, const std::string& path) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw TokenizerError(path + ": SentencePiece shim lacks " + name);
}

// Sanitizer runtimes refuse libraries opened with RTLD_DEEPBIND (they could not intercept their
// calls), so a sanitized build opens the shim without it.
constexpr int kDeepBind = kAddressSanitizer ? 0 : RTLD_DEEPBIND;

SpmApi load_api() {
  // CRAMMER_SPM_SHIM overrides the build-tree path baked in at compile time.
  const char* env = std::getenv("CRAMMER_SPM_SHIM");
  std::string path = env && *env ? env : CRAMMER_SPM_SHIM_PATH;
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
  if (!lib) {
    const char* why = dlerror();
    throw TokenizerError("cannot load the SentencePiece library " + path + " (set CRAMMER_SPM_SHIM to its path): " +
                         (why ? why : "unknown error"));
  }
  SpmApi api{};
  bind(lib, "crammer_spm_load", api.load, path);
  bind(lib, "crammer_spm_free", api.free_handle, path);
  bind(lib, "crammer_spm_free_buffer", api.free_buffer, path);
  bind(lib, "crammer_spm_encode", api.encode, path);
  bind(lib, "crammer_spm_decode", api.decode, path);
  bind(lib, "crammer_spm_piece_size", api.piece_size, path);
  bind(lib, "crammer_spm_bos_id", api.bos_id, path);
  bind(lib, "crammer_spm_eos_id", api.eos_id, path);
  bind(lib, "crammer_spm_piece_to_id", api.piece_to_id, path);
  return api;
}

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& path, const TokenizerConfig& config) : api_(spm_api()), path_(path) {
    char err[kErrLen] = {0};
    handle_ = api_.load(path.c_str(), err, sizeof err);
    if (!handle_) throw TokenizerError(path + ": cannot load SentencePiece model: " + err);
    pieces_ = api_.piece_size(handle_);
    bos_ = special(config.bos_token, api_.bos_id(handle_), config.path + ": bos_token");
    eos_ = special(config.eos_token, api_.eos_id(handle_), config.path + ": eos_token");
    uses_bos_ = bos_.has_value() && config.add_bos_token.value_or(true);
  }
  ~SentencePieceTokenizer() override { api_.free_handle(handle_); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
    char err[kErrLen] = {0};
    int* ids = nullptr;
    size_t n = 0;
    if (api_.encode(handle_, text.data(), text.size(), &ids, &n, err, sizeof err) != 0)
      throw TokenizerError(path_ + ": encode failed: " + err);
    std::vector<int32_t> out;
    out.reserve(n + 1);
    if (add_bos && uses_bos_) out.push_back(*bos_);
    out.insert(out.end(), ids, ids + n);
    api_.free_buffer(ids);
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    for (int32_t id : ids) {
      if (id < 0 || id >= pieces_) {
        throw TokenizerError(path_ + ": decode: id " + std::to_string(id) +
                             " is not a token of this vocabulary (size " + std::to_string(pieces_) + ")");
      }
    }
    std::vector<int> in(ids.begin(), ids.end());
    char err[kErrLen] = {0};
    char* text = nullptr;
    size_t len = 0;
    if (api_.decode(handle_, in.data(), in.size(), &text, &len, err, sizeof err) != 0)
      throw TokenizerError(path_ + ": decode failed: " + err);
    std::string out(text, len);
    api_.free_buffer(text);
    return out;
  }

  int64_t vocab_size() const override { return pieces_; }
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
      int id = api_.piece_to_id(handle_, name->c_str());
      if (id < 0) throw TokenizerError(where + ": '" + *name + "' is not a piece of " + path_);
      return id;
    }
    if (model_id < 0) return std::nullopt;
    return model_id;
  }

  const SpmApi& api_;
  std::string path_;
  void* handle_ = nullptr;
  int pieces_ = 0;
  std::optional<int32_t> bos_, eos_;
  bool uses_bos_ = false;
};

}  // namespace

const SpmApi& spm_api() {
  static std::once_flag once;
  static SpmApi api;
  std::call_once(once, [] { api = load_api(); });
  return api;
}

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model_path,
                                              const TokenizerConfig& config) {
  return std::make_unique<SentencePieceTokenizer>(model_path, config);
}

}  // namespace crammer
