// Round trips of the sweep wire format (every field of Task / TaskResult, the three messages)
// and the errors a damaged message gives.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "crammer/sweep/wire.hpp"
#include "crammer/util/error.hpp"

using namespace crammer;

namespace {

Task sample_task(int i) {
  Task t;
  t.key = "pythia-160m/k" + std::to_string(i) + "/L4096/s17 ünïcode";
  t.model_index = 3 + i;
  t.sample_id = (int64_t(1) << 40) + i;  // needs 64 bits
  t.n_mem = 16;
  t.length = 4096;
  t.capacity_search = (i % 2) == 1;
  t.restart = 2 + i;
  for (int j = 0; j < 4096; ++j) t.token_ids.push_back(128255 - j * 31 - i);
  t.context = {128000, 791 + i, 13};
  t.prefix_bytes = {0, -1, 7, -1, 11 + i};
  t.copy_prompt = {128000, 1342 + i, 25};
  t.copy_from = 1 + i;
  return t;
}

TaskResult sample_result(int i) {
  TaskResult r;
  r.task_key = "k/" + std::to_string(i);
  r.model_index = i;
  r.sample_id = -5 - i;
  r.n_mem = 2;
  r.length = 77;
  r.status = i % 3 == 0 ? TaskStatus::failed : (i % 3 == 1 ? TaskStatus::done : TaskStatus::skipped);
  r.n_tokens = 77;
  r.n_targets = 76;
  r.baseline_loss = 4.25 + i;
  r.baseline_acc = 0.125;
  r.best_acc = 1.0 / 3.0;
  r.best_loss = std::numeric_limits<double>::quiet_NaN();
  r.steps = 5000;
  r.steps_to_best = 4321;
  r.converged = true;
  r.info_gain_nats = 1e300;
  r.info_gain_bits = -0.0;
  r.token_gain = -3;
  r.decode_exact = true;
  r.decode_prefix = 76;
  r.capacity = 33;
  r.wall_seconds = 12.5;
  r.rank = 7;
  r.device = "cuda:3";
  r.error = i % 3 == 0 ? "out of memory\nsecond line" : "";
  r.d_model = 5;
  for (int j = 0; j < 2 * 5; ++j) r.memory.push_back(0.1f * j - i);
  r.curve_loss = {3.5f, 2.25f, std::numeric_limits<float>::infinity()};
  r.curve_acc = {0.0f, 0.75f};
  return r;
}

// Field-by-field equality; NaN == NaN and the sign of zero are compared bitwise.
void expect_same_bits(double a, double b, const char* field) {
  EXPECT_EQ(0, std::memcmp(&a, &b, sizeof(double))) << field << ": " << a << " vs " << b;
}

void expect_equal(const TaskResult& a, const TaskResult& b) {
  EXPECT_EQ(a.task_key, b.task_key);
  EXPECT_EQ(a.model_index, b.model_index);
  EXPECT_EQ(a.sample_id, b.sample_id);
  EXPECT_EQ(a.n_mem, b.n_mem);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.n_tokens, b.n_tokens);
  EXPECT_EQ(a.n_targets, b.n_targets);
  expect_same_bits(a.baseline_loss, b.baseline_loss, "baseline_loss");
  expect_same_bits(a.baseline_acc, b.baseline_acc, "baseline_acc");
  expect_same_bits(a.best_acc, b.best_acc, "best_acc");
  expect_same_bits(a.best_loss, b.best_loss, "best_loss");
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.steps_to_best, b.steps_to_best);
  EXPECT_EQ(a.converged, b.converged);
  expect_same_bits(a.info_gain_nats, b.info_gain_nats, "info_gain_nats");
  expect_same_bits(a.info_gain_bits, b.info_gain_bits, "info_gain_bits");
  EXPECT_EQ(a.token_gain, b.token_gain);
  EXPECT_EQ(a.decode_exact, b.decode_exact);
  EXPECT_EQ(a.decode_prefix, b.decode_prefix);
  EXPECT_EQ(a.capacity, b.capacity);
  expect_same_bits(a.wall_seconds, b.wall_seconds, "wall_seconds");
  EXPECT_EQ(a.rank, b.rank);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.memory, b.memory);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.curve_loss, b.curve_loss);
  EXPECT_EQ(a.curve_acc, b.curve_acc);
}

}  // namespace

TEST(DistWire, WorkMessageRoundTripsEveryTaskField) {
  std::vector<Task> batch = {sample_task(0), sample_task(1), Task{}};
  auto bytes = encode_work(batch);
  EXPECT_EQ(message_kind(bytes), MessageKind::work);
  auto back = decode_work(bytes);
  ASSERT_EQ(back.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(back[i].key, batch[i].key);
    EXPECT_EQ(back[i].model_index, batch[i].model_index);
    EXPECT_EQ(back[i].sample_id, batch[i].sample_id);
    EXPECT_EQ(back[i].n_mem, batch[i].n_mem);
    EXPECT_EQ(back[i].length, batch[i].length);
    EXPECT_EQ(back[i].capacity_search, batch[i].capacity_search);
    EXPECT_EQ(back[i].token_ids, batch[i].token_ids);
    EXPECT_EQ(back[i].restart, batch[i].restart);
    EXPECT_EQ(back[i].context, batch[i].context);
    EXPECT_EQ(back[i].prefix_bytes, batch[i].prefix_bytes);
    EXPECT_EQ(back[i].copy_prompt, batch[i].copy_prompt);
    EXPECT_EQ(back[i].copy_from, batch[i].copy_from);
  }
  // Compact: token ids dominate, 4 bytes each, plus a small fixed overhead per task.
  size_t payload = 2 * (4096 + 3 + 5 + 3) * 4;
  EXPECT_LT(bytes.size(), payload + 3 * 128);
}

TEST(DistWire, RequestRoundTripsEveryResultField) {
  WorkRequest req;
  req.held_model = 2;
  req.stopping = true;
  req.stop_signal = 15;
  req.fatal = "model 'm' cannot be used: tensor 'w' holds non-finite values";
  for (int i = 0; i < 4; ++i) req.results.push_back(sample_result(i));
  auto back = decode_request(encode_request(req));
  EXPECT_EQ(back.held_model, 2);
  EXPECT_TRUE(back.stopping);
  EXPECT_EQ(back.stop_signal, 15);
  EXPECT_EQ(back.fatal, req.fatal);
  ASSERT_EQ(back.results.size(), 4u);
  for (size_t i = 0; i < 4; ++i) expect_equal(back.results[i], req.results[i]);
}

TEST(DistWire, EmptyRequestAndStop) {
  WorkRequest req;
  auto back = decode_request(encode_request(req));
  EXPECT_EQ(back.held_model, -1);
  EXPECT_FALSE(back.stopping);
  EXPECT_TRUE(back.results.empty());
  EXPECT_EQ(decode_stop(encode_stop(StopReason::done)), StopReason::done);
  EXPECT_EQ(decode_stop(encode_stop(StopReason::interrupted)), StopReason::interrupted);
  EXPECT_EQ(decode_stop(encode_stop(StopReason::fatal)), StopReason::fatal);
  EXPECT_EQ(message_kind(encode_stop(StopReason::done)), MessageKind::stop);
  EXPECT_EQ(message_kind(encode_heartbeat()), MessageKind::heartbeat);
  EXPECT_THROW(decode_request(encode_heartbeat()), DistError);
}

TEST(DistWire, TruncatedMessageNamesTheField) {
  auto bytes = encode_work({sample_task(0)});
  // past the copy prompt (4-byte start, 20-byte vector) and the byte counts (28), into the ids
  bytes.resize(bytes.size() - 60);
  try {
    decode_work(bytes);
    FAIL() << "expected DistError";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("task.token_ids"), std::string::npos) << e.what();
  }
}

TEST(DistWire, CorruptCountDoesNotAllocate) {
  // A work message claiming one task whose key is 4 GiB long.
  ByteWriter w;
  w.put<uint8_t>(uint8_t(MessageKind::work));
  w.put<uint8_t>(kWireVersion);
  w.put<uint32_t>(1);
  w.put<uint64_t>(~uint64_t(0));
  EXPECT_THROW(decode_work(w.release()), DistError);
}

TEST(DistWire, WrongKindVersionAndTrailingBytesAreErrors) {
  auto stop = encode_stop(StopReason::done);
  EXPECT_THROW(decode_work(stop), DistError);
  auto bad_version = stop;
  bad_version[1] = char(kWireVersion + 1);
  try {
    message_kind(bad_version);
    FAIL() << "expected DistError";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("version"), std::string::npos) << e.what();
  }
  auto trailing = stop;
  trailing.push_back('x');
  EXPECT_THROW(decode_stop(trailing), DistError);
  std::vector<char> empty;
  EXPECT_THROW(message_kind(empty), DistError);
  auto bad_status = encode_request(WorkRequest{0, false, 0, "", {sample_result(1)}});
  // status byte of the first result: header(2) + held(4) + stopping(1) + signal(4) + fatal(8 + 0)
  // + n(4) + key(8 + 3) + model(4) + sample(8) + n_mem(4) + length(4)
  size_t status_at = 2 + 4 + 1 + 4 + 8 + 4 + 8 + 3 + 4 + 8 + 4 + 4;
  ASSERT_EQ(bad_status[status_at], char(TaskStatus::done));
  bad_status[status_at] = 9;
  EXPECT_THROW(decode_request(bad_status), DistError);
}
