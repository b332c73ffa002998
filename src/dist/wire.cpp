// Encoding of tasks, results and protocol messages (layout: include/crammer/dist/wire.hpp).
// Field order below IS the format: change it only together with kWireVersion.
#include "crammer/dist/wire.hpp"

#include <algorithm>

#include "crammer/plan/result_fields.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

void ByteWriter::append(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  bytes_.insert(bytes_.end(), c, c + n);
}

void ByteWriter::put_string(const std::string& s) {
  put<uint32_t>(static_cast<uint32_t>(s.size()));
  append(s.data(), s.size());
}

void ByteReader::take(void* out, size_t n, const char* field) {
  if (n > size_ - pos_) {
    throw DistError("wire: message truncated reading " + std::string(field) + " (need " +
                    std::to_string(n) + " bytes at offset " + std::to_string(pos_) + " of a " +
                    std::to_string(size_) + "-byte message)");
  }
  std::memcpy(out, data_ + pos_, n);
  pos_ += n;
}

std::string ByteReader::get_string(const char* field) {
  auto n = get<uint32_t>(field);
  if (n > remaining()) take(nullptr, n, field);  // throws before allocating
  std::string s(n, '\0');
  if (n) take(&s[0], n, field);
  return s;
}

void write_task(ByteWriter& w, const Task& t) {
  w.put_string(t.key);
  w.put<int32_t>(t.model_index);
  w.put<int64_t>(t.sample_id);
  w.put<int32_t>(t.n_mem);
  w.put<int32_t>(t.length);
  w.put<uint8_t>(t.capacity_search ? 1 : 0);
  w.put_vector(t.token_ids);
}

Task read_task(ByteReader& r) {
  Task t;
  t.key = r.get_string("task.key");
  t.model_index = r.get<int32_t>("task.model_index");
  t.sample_id = r.get<int64_t>("task.sample_id");
  t.n_mem = r.get<int32_t>("task.n_mem");
  t.length = r.get<int32_t>("task.length");
  t.capacity_search = r.get<uint8_t>("task.capacity_search") != 0;
  t.token_ids = r.get_vector<int32_t>("task.token_ids");
  return t;
}

namespace {

struct ResultWriter {
  ByteWriter& w;
  void text(const char*, const std::string& s) { w.put_string(s); }
  template <class T>
  void num(const char*, const T& v) { w.put<T>(v); }
  void flag(const char*, bool b) { w.put<uint8_t>(b ? 1 : 0); }
  void status(const char*, TaskStatus s) { w.put<int8_t>(static_cast<int8_t>(s)); }
  void floats(const char*, const std::vector<float>& v) { w.put_vector(v); }
};

struct ResultReader {
  ByteReader& r;
  TaskResult& x;
  std::string field;
  const char* name(const char* f) { return (field = std::string("result.") + f).c_str(); }
  void text(const char* f, std::string& s) { s = r.get_string(name(f)); }
  template <class T>
  void num(const char* f, T& v) { v = r.get<T>(name(f)); }
  void flag(const char* f, bool& b) { b = r.get<uint8_t>(name(f)) != 0; }
  void status(const char* f, TaskStatus& s) {
    auto b = r.get<int8_t>(name(f));
    if (!valid_status_byte(b)) {
      throw DistError("wire: result.status of task '" + x.task_key + "' is " + std::to_string(b) +
                      ", expected 0 (done), 1 (failed) or 2 (skipped)");
    }
    s = static_cast<TaskStatus>(b);
  }
  void floats(const char* f, std::vector<float>& v) { v = r.get_vector<float>(name(f)); }
};

}  // namespace

void write_result(ByteWriter& w, const TaskResult& x) {
  ResultWriter v{w};
  visit_result_fields(v, x);
}

TaskResult read_result(ByteReader& r) {
  TaskResult x;
  ResultReader v{r, x, {}};
  visit_result_fields(v, x);
  return x;
}

namespace {

void put_header(ByteWriter& w, MessageKind kind) {
  w.put<uint8_t>(static_cast<uint8_t>(kind));
  w.put<uint8_t>(kWireVersion);
}

ByteReader open_message(const std::vector<char>& bytes, MessageKind expected) {
  auto kind = message_kind(bytes);
  if (kind != expected) {
    throw DistError("wire: expected message kind " + std::to_string(int(expected)) + ", got " +
                    std::to_string(int(kind)));
  }
  ByteReader r(bytes.data(), bytes.size());
  r.get<uint16_t>("header");
  return r;
}

void expect_end(const ByteReader& r, const char* what) {
  if (!r.at_end()) {
    throw DistError("wire: " + std::to_string(r.remaining()) + " unread bytes after the " +
                    what + " message");
  }
}

}  // namespace

std::vector<char> encode_request(const WorkRequest& req) {
  ByteWriter w;
  put_header(w, MessageKind::request);
  w.put<int32_t>(req.held_model);
  w.put<uint8_t>(req.stopping ? 1 : 0);
  w.put<int32_t>(req.stop_signal);
  w.put<uint32_t>(static_cast<uint32_t>(req.results.size()));
  for (const auto& x : req.results) write_result(w, x);
  return w.release();
}

std::vector<char> encode_work(const std::vector<Task>& batch) {
  ByteWriter w;
  put_header(w, MessageKind::work);
  w.put<uint32_t>(static_cast<uint32_t>(batch.size()));
  for (const auto& t : batch) write_task(w, t);
  return w.release();
}

std::vector<char> encode_stop(StopReason reason) {
  ByteWriter w;
  put_header(w, MessageKind::stop);
  w.put<uint8_t>(static_cast<uint8_t>(reason));
  return w.release();
}

MessageKind message_kind(const std::vector<char>& bytes) {
  ByteReader r(bytes.data(), bytes.size());
  auto kind = r.get<uint8_t>("message kind");
  auto version = r.get<uint8_t>("message version");
  if (version != kWireVersion) {
    throw DistError("wire: message format version " + std::to_string(version) + ", expected " +
                    std::to_string(kWireVersion) + " (ranks run different crammer builds?)");
  }
  if (kind < 1 || kind > 3) {
    throw DistError("wire: unknown message kind " + std::to_string(kind) +
                    ", expected 1 (request), 2 (work) or 3 (stop)");
  }
  return static_cast<MessageKind>(kind);
}

WorkRequest decode_request(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::request);
  WorkRequest req;
  req.held_model = r.get<int32_t>("request.held_model");
  req.stopping = r.get<uint8_t>("request.stopping") != 0;
  req.stop_signal = r.get<int32_t>("request.stop_signal");
  auto n = r.get<uint32_t>("request.n_results");
  req.results.reserve(std::min<size_t>(n, r.remaining()));
  for (uint32_t i = 0; i < n; ++i) req.results.push_back(read_result(r));
  expect_end(r, "request");
  return req;
}

std::vector<Task> decode_work(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::work);
  auto n = r.get<uint32_t>("work.n_tasks");
  std::vector<Task> batch;
  batch.reserve(std::min<size_t>(n, r.remaining()));
  for (uint32_t i = 0; i < n; ++i) batch.push_back(read_task(r));
  expect_end(r, "work");
  return batch;
}

StopReason decode_stop(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::stop);
  auto reason = r.get<uint8_t>("stop.reason");
  if (reason > 1) {
    throw DistError("wire: stop.reason is " + std::to_string(reason) +
                    ", expected 0 (done) or 1 (interrupted)");
  }
  expect_end(r, "stop");
  return static_cast<StopReason>(reason);
}

}  // namespace crammer
