// ByteWriter / ByteReader (see crammer/core/byte_stream.hpp).
#include "crammer/core/byte_stream.hpp"

#include <cstdlib>

namespace crammer {

void ByteWriter::append(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  bytes_.insert(bytes_.end(), c, c + n);
}

void ByteWriter::put_string(const std::string& s) {
  put<uint64_t>(s.size());
  append(s.data(), s.size());
}

void ByteReader::fail(const std::string& message) const {
  fail_(where_ + ": " + message);
  std::abort();  // fail_ must throw; never read past a broken input
}

void ByteReader::too_short(const char* field, uint64_t n) const {
  fail("truncated reading " + std::string(field) + " (needs " + std::to_string(n) +
       " bytes at offset " + std::to_string(pos_) + " of " + std::to_string(size_) + ")");
}

void ByteReader::take(void* out, size_t n, const char* field) {
  if (n > size_ - pos_) too_short(field, n);
  if (n) std::memcpy(out, data_ + pos_, n);
  pos_ += n;
}

std::string ByteReader::get_string(const char* field) {
  auto n = get<uint64_t>(field);
  if (n > remaining()) too_short(field, n);  // before allocating
  std::string s(static_cast<size_t>(n), '\0');
  if (n) take(&s[0], static_cast<size_t>(n), field);
  return s;
}

void ByteReader::expect_end(const char* what) const {
  if (!at_end())
    fail(std::to_string(remaining()) + " unexpected bytes after the " + std::string(what));
}

}  // namespace crammer
