// The one binary byte stream of crammer: the MPI wire messages (sweep/wire) and the journal
// records (store/journal) are both written with ByteWriter and read with ByteReader. Host byte
// order, which must be little-endian (the journal is a file); strings and vectors carry a u64
// length. A short or malformed input fails through the caller's `fail`, naming the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crammer's byte stream writes host byte order and assumes a little-endian host"
#endif

namespace crammer {

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable<T>::value, "put() takes plain values");
    append(&value, sizeof(T));
  }
  void put_string(const std::string& s);
  template <typename T>
  void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable<T>::value, "put_vector() takes plain values");
    put<uint64_t>(v.size());
    if (!v.empty()) append(v.data(), v.size() * sizeof(T));
  }
  size_t size() const { return bytes_.size(); }
  std::vector<char> release() { return std::move(bytes_); }
  std::string release_string() { return std::string(bytes_.begin(), bytes_.end()); }

 private:
  void append(const void* p, size_t n);
  std::vector<char> bytes_;
};

class ByteReader {
 public:
  // Throws the caller's own error type: `fail` gets the whole message and must not return.
  using Fail = void (*)(const std::string& message);
  ByteReader(const char* data, size_t size, std::string where, Fail fail)
      : data_(data), size_(size), where_(std::move(where)), fail_(fail) {}

  template <typename T>
  T get(const char* field) {
    static_assert(std::is_trivially_copyable<T>::value, "get() reads plain values");
    T value;
    take(&value, sizeof(T), field);
    return value;
  }
  std::string get_string(const char* field);
  template <typename T>
  std::vector<T> get_vector(const char* field) {
    auto n = get<uint64_t>(field);
    // Check the length before allocating: a corrupt count must not allocate gigabytes.
    if (n > remaining() / sizeof(T)) too_short(field, n * sizeof(T));
    std::vector<T> v(static_cast<size_t>(n));
    if (n) take(v.data(), static_cast<size_t>(n) * sizeof(T), field);
    return v;
  }
  bool at_end() const { return pos_ == size_; }
  size_t remaining() const { return size_ - pos_; }
  // Fails when bytes are left over after `what` was read completely.
  void expect_end(const char* what) const;
  [[noreturn]] void fail(const std::string& message) const;

 private:
  void take(void* out, size_t n, const char* field);
  [[noreturn]] void too_short(const char* field, uint64_t n) const;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string where_;
  Fail fail_;
};

}  // namespace crammer
