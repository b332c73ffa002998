// The isolated SentencePiece library (src/text/spm_shim): loaded on first use with
// RTLD_LOCAL | RTLD_DEEPBIND so its private protobuf never meets LibTorch's. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace crammer {

// The dlopen()ed shim's functions. Throws TokenizerError when the shim cannot be loaded.
struct SpmApi {
  void* (*load)(const char*, char*, size_t);
  void (*free_handle)(void*);
  void (*free_buffer)(void*);
  int (*encode)(void*, const char*, size_t, int**, size_t*, char*, size_t);
  int (*decode)(void*, const int*, size_t, char**, size_t*, char*, size_t);
  int (*piece_size)(void*);
  int (*bos_id)(void*);
  int (*eos_id)(void*);
  int (*piece_to_id)(void*, const char*);
};
const SpmApi& spm_api();

}  // namespace crammer
