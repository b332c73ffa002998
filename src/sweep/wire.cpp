// Encoding of tasks, results and protocol messages (layout: include/crammer/sweep/wire.hpp).
// Field order below IS the format: change it only together with kWireVersion.
#include "crammer/sweep/wire.hpp"

#include <algorithm>

#include "crammer/core/result_codec.hpp"
#include "crammer/util/error.hpp"

namespace crammer {

namespace {

[[noreturn]] void throw_dist_error(const std::string& message) { throw DistError(message); }

ByteReader wire_reader(const std::vector<char>& bytes) {
  return ByteReader(bytes.data(), bytes.size(), "wire", throw_dist_error);
}

}  // namespace

void write_task(ByteWriter& w, const Task& t) {
  w.put_string(t.key);
  w.put<int32_t>(t.model_index);
  w.put<int64_t>(t.sample_id);
  w.put<int32_t>(t.n_mem);
  w.put<int32_t>(t.length);
  w.put<int32_t>(t.restart);
  w.put<uint8_t>(t.capacity_search ? 1 : 0);
  w.put_vector(t.context);
  w.put_vector(t.token_ids);
  w.put_vector(t.prefix_bytes);
  w.put_vector(t.copy_prompt);
  w.put<int32_t>(t.copy_from);
}

Task read_task(ByteReader& r) {
  Task t;
  t.key = r.get_string("task.key");
  t.model_index = r.get<int32_t>("task.model_index");
  t.sample_id = r.get<int64_t>("task.sample_id");
  t.n_mem = r.get<int32_t>("task.n_mem");
  t.length = r.get<int32_t>("task.length");
  t.restart = r.get<int32_t>("task.restart");
  t.capacity_search = r.get<uint8_t>("task.capacity_search") != 0;
  t.context = r.get_vector<int32_t>("task.context");
  t.token_ids = r.get_vector<int32_t>("task.token_ids");
  t.prefix_bytes = r.get_vector<int32_t>("task.prefix_bytes");
  t.copy_prompt = r.get_vector<int32_t>("task.copy_prompt");
  t.copy_from = r.get<int32_t>("task.copy_from");
  return t;
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
  ByteReader r = wire_reader(bytes);
  r.get<uint16_t>("header");
  return r;
}

}  // namespace

std::vector<char> encode_request(const WorkRequest& req) {
  ByteWriter w;
  put_header(w, MessageKind::request);
  w.put<int32_t>(req.held_model);
  w.put<uint8_t>(req.stopping ? 1 : 0);
  w.put<int32_t>(req.stop_signal);
  w.put_string(req.fatal);
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

std::vector<char> encode_heartbeat() {
  ByteWriter w;
  put_header(w, MessageKind::heartbeat);
  return w.release();
}

MessageKind message_kind(const std::vector<char>& bytes) {
  ByteReader r = wire_reader(bytes);
  auto kind = r.get<uint8_t>("message kind");
  auto version = r.get<uint8_t>("message version");
  if (version != kWireVersion) {
    throw DistError("wire: message format version " + std::to_string(version) + ", expected " +
                    std::to_string(kWireVersion) + " (ranks run different crammer builds?)");
  }
  if (kind < 1 || kind > 4) {
    throw DistError("wire: unknown message kind " + std::to_string(kind) +
                    ", expected 1 (request), 2 (work), 3 (stop) or 4 (heartbeat)");
  }
  return static_cast<MessageKind>(kind);
}

WorkRequest decode_request(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::request);
  WorkRequest req;
  req.held_model = r.get<int32_t>("request.held_model");
  req.stopping = r.get<uint8_t>("request.stopping") != 0;
  req.stop_signal = r.get<int32_t>("request.stop_signal");
  req.fatal = r.get_string("request.fatal");
  auto n = r.get<uint32_t>("request.n_results");
  req.results.reserve(std::min<size_t>(n, r.remaining()));
  for (uint32_t i = 0; i < n; ++i) req.results.push_back(read_result(r));
  r.expect_end("request message");
  return req;
}

std::vector<Task> decode_work(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::work);
  auto n = r.get<uint32_t>("work.n_tasks");
  std::vector<Task> batch;
  batch.reserve(std::min<size_t>(n, r.remaining()));
  for (uint32_t i = 0; i < n; ++i) batch.push_back(read_task(r));
  r.expect_end("work message");
  return batch;
}

StopReason decode_stop(const std::vector<char>& bytes) {
  auto r = open_message(bytes, MessageKind::stop);
  auto reason = r.get<uint8_t>("stop.reason");
  if (reason > 2) {
    throw DistError("wire: stop.reason is " + std::to_string(reason) +
                    ", expected 0 (done), 1 (interrupted) or 2 (fatal)");
  }
  r.expect_end("stop message");
  return static_cast<StopReason>(reason);
}

}  // namespace crammer
