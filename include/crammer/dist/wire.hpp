// The bytes that travel between coordinator and workers: a compact binary encoding of Task,
// TaskResult and the three messages of the sweep protocol (request, work, stop). Native byte
// order (every rank of a job runs the same binary on the same architecture); each message starts
// with a kind byte and a format version. Not a file format: nothing here is ever stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "crammer/plan/task.hpp"

namespace crammer {

constexpr uint8_t kWireVersion = 1;

enum class MessageKind : uint8_t { request = 1, work = 2, stop = 3 };
enum class StopReason : uint8_t { done = 0, interrupted = 1 };

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
    put<uint32_t>(static_cast<uint32_t>(v.size()));
    if (!v.empty()) append(v.data(), v.size() * sizeof(T));
  }
  std::vector<char>& bytes() { return bytes_; }
  std::vector<char> release() { return std::move(bytes_); }

 private:
  void append(const void* p, size_t n);
  std::vector<char> bytes_;
};

// Reads what ByteWriter wrote; a short or malformed message throws DistError naming the field.
class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get(const char* field) {
    T value;
    take(&value, sizeof(T), field);
    return value;
  }
  std::string get_string(const char* field);
  template <typename T>
  std::vector<T> get_vector(const char* field) {
    auto n = get<uint32_t>(field);
    // Check the length before allocating: a corrupt count must not allocate gigabytes.
    if (size_t(n) * sizeof(T) > remaining()) take(nullptr, size_t(n) * sizeof(T), field);
    std::vector<T> v(n);
    if (n) take(v.data(), size_t(n) * sizeof(T), field);
    return v;
  }
  bool at_end() const { return pos_ == size_; }
  size_t remaining() const { return size_ - pos_; }

 private:
  void take(void* out, size_t n, const char* field);
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

void write_task(ByteWriter& w, const Task& t);
Task read_task(ByteReader& r);
void write_result(ByteWriter& w, const TaskResult& r);
TaskResult read_result(ByteReader& r);

// worker -> coordinator: "I am idle, I hold model M", with the results of its last batch.
struct WorkRequest {
  int32_t held_model = -1;  // -1: none loaded
  bool stopping = false;    // this worker saw a stop request and will take no more work
  int32_t stop_signal = 0;
  std::vector<TaskResult> results;
};

std::vector<char> encode_request(const WorkRequest& req);
std::vector<char> encode_work(const std::vector<Task>& batch);
std::vector<char> encode_stop(StopReason reason);

// Peeks the kind byte (and checks the version) of any message.
MessageKind message_kind(const std::vector<char>& bytes);
WorkRequest decode_request(const std::vector<char>& bytes);
std::vector<Task> decode_work(const std::vector<char>& bytes);
StopReason decode_stop(const std::vector<char>& bytes);

}  // namespace crammer
