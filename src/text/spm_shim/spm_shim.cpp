// A C interface over Debian's libsentencepiece, built as its own shared object and dlopen()ed
// with RTLD_LOCAL | RTLD_DEEPBIND (sentencepiece_tokenizer.cpp). Why: libsentencepiece carries
// and exports a protobuf-lite 3.14 of its own; in a process that also loads LibTorch's
// libprotobuf 3.21, one copy's symbols interpose on the other's and either one crashes at
// static initialisation. Loaded this way, sentencepiece binds to its own copy only.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
void set_error(char* err, size_t len, const std::string& text) {
  if (!err || len == 0) return;
  std::snprintf(err, len, "%s", text.c_str());
}
}  // namespace

extern "C" {

void* crammer_spm_load(const char* path, char* err, size_t errlen) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void crammer_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

void crammer_spm_free_buffer(void* p) { std::free(p); }

// ids: malloc'ed array the caller frees with crammer_spm_free_buffer. Returns 0 on success.
int crammer_spm_encode(void* handle, const char* text, size_t len, int** ids, size_t* n, char* err, size_t errlen) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::vector<int> out;
  auto status = sp->Encode(absl::string_view(text, len), &out);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return 1;
  }
  *n = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (!out.empty()) std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  return 0;
}

// text: malloc'ed, not NUL-terminated beyond len; freed with crammer_spm_free_buffer.
int crammer_spm_decode(void* handle, const int* ids, size_t n, char** text, size_t* len, char* err, size_t errlen) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::string out;
  auto status = sp->Decode(std::vector<int>(ids, ids + n), &out);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return 1;
  }
  *len = out.size();
  *text = static_cast<char*>(std::malloc(out.size() + 1));
  std::memcpy(*text, out.c_str(), out.size() + 1);
  return 0;
}

int crammer_spm_piece_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}
int crammer_spm_bos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->bos_id(); }
int crammer_spm_eos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->eos_id(); }

// Piece -> id; -1 when the piece is not in the vocabulary (sentencepiece maps it to unk).
int crammer_spm_piece_to_id(void* handle, const char* piece) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  int id = sp->PieceToId(piece);
  if (sp->IsUnknown(id) && sp->IdToPiece(id) != piece) return -1;
  return id;
}

}  // extern "C"
