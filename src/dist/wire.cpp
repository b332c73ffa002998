// Encoding of tasks, results and protocol messages (layout: include/crammer/dist/wire.hpp).
// Field order below IS the format: change it only together with kWireVersion.
#include "crammer/dist/wire.hpp"

#include <algorithm>

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

void write_result(ByteWriter& w, const TaskResult& x) {
  w.put_string(x.task_key);
  w.put<int32_t>(x.model_index);
  w.put<int64_t>(x.sample_id);
  w.put<int32_t>(x.n_mem);
  w.put<int32_t>(x.length);
  w.put<int8_t>(static_cast<int8_t>(x.status));
  w.put<int32_t>(x.n_tokens);
  w.put<int32_t>(x.n_targets);
  w.put<double>(x.baseline_loss);
  w.put<double>(x.baseline_acc);
  w.put<double>(x.best_acc);
  w.put<double>(x.best_loss);
  w.put<int32_t>(x.steps);
  w.put<int32_t>(x.steps_to_best);
  w.put<uint8_t>(x.converged ? 1 : 0);
  w.put<double>(x.info_gain_nats);
  w.put<double>(x.info_gain_bits);
  w.put<int32_t>(x.token_gain);
  w.put<uint8_t>(x.decode_exact ? 1 : 0);
  w.put<int32_t>(x.decode_prefix);
  w.put<int32_t>(x.capacity);
  w.put<double>(x.wall_seconds);
  w.put<int32_t>(x.rank);
  w.put_string(x.device);
  w.put_string(x.error);
  w.put_vector(x.memory);
  w.put<int32_t>(x.d_model);
  w.put_vector(x.curve_loss);
  w.put_vector(x.curve_acc);
}

TaskResult read_result(ByteReader& r) {
  TaskResult x;
  x.task_key = r.get_string("result.task_key");
  x.model_index = r.get<int32_t>("result.model_index");
  x.sample_id = r.get<int64_t>("result.sample_id");
  x.n_mem = r.get<int32_t>("result.n_mem");
  x.length = r.get<int32_t>("result.length");
  auto status = r.get<int8_t>("result.status");
  if (status < 0 || status > static_cast<int8_t>(TaskStatus::skipped)) {
    throw DistError("wire: result.status of task '" + x.task_key + "' is " +
                    std::to_string(status) + ", expected 0 (done), 1 (failed) or 2 (skipped)");
  }
  x.status = static_cast<TaskStatus>(status);
  x.n_tokens = r.get<int32_t>("result.n_tokens");
  x.n_targets = r.get<int32_t>("result.n_targets");
  x.baseline_loss = r.get<double>("result.baseline_loss");
  x.baseline_acc = r.get<double>("result.baseline_acc");
  x.best_acc = r.get<double>("result.best_acc");
  x.best_loss = r.get<double>("result.best_loss");
  x.steps = r.get<int32_t>("result.steps");
  x.steps_to_best = r.get<int32_t>("result.steps_to_best");
  x.converged = r.get<uint8_t>("result.converged") != 0;
  x.info_gain_nats = r.get<double>("result.info_gain_nats");
  x.info_gain_bits = r.get<double>("result.info_gain_bits");
  x.token_gain = r.get<int32_t>("result.token_gain");
  x.decode_exact = r.get<uint8_t>("result.decode_exact") != 0;
  x.decode_prefix = r.get<int32_t>("result.decode_prefix");
  x.capacity = r.get<int32_t>("result.capacity");
  x.wall_seconds = r.get<double>("result.wall_seconds");
  x.rank = r.get<int32_t>("result.rank");
  x.device = r.get_string("result.device");
  x.error = r.get_string("result.error");
  x.memory = r.get_vector<float>("result.memory");
  x.d_model = r.get<int32_t>("result.d_model");
  x.curve_loss = r.get_vector<float>("result.curve_loss");
  x.curve_acc = r.get_vector<float>("result.curve_acc");
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
