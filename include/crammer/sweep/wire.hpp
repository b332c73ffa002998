// The bytes that travel between coordinator and workers: a compact binary encoding of Task,
// TaskResult and the three messages of the sweep protocol (request, work, stop), written with
// the byte stream of core/byte_stream.hpp; each message starts with a kind byte and a format
// version. Not a file format: nothing here is ever stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crammer/core/byte_stream.hpp"
#include "crammer/core/result_codec.hpp"

namespace crammer {

// 2: strings and vectors carry u64 lengths (the byte stream shared with the journal).
// 3: a request carries the text of an error that stops the run; stop reason "fatal".
// 4: heartbeat messages. 5: restarts and byte counts (format-5 rows). 6: tasks carry a context.
// 7: format-6 rows, tasks carry a copy prompt. 8: format-7 rows (grown_from).
// 9: format-8 rows (mem_attention).
constexpr uint8_t kWireVersion = 9;

// heartbeat: worker -> coordinator while a batch computes ("still alive"); never answered.
enum class MessageKind : uint8_t { request = 1, work = 2, stop = 3, heartbeat = 4 };
// fatal: a worker hit a StopRunError; every rank stops, the run exits 2.
enum class StopReason : uint8_t { done = 0, interrupted = 1, fatal = 2 };

void write_task(ByteWriter& w, const Task& t);
Task read_task(ByteReader& r);

// worker -> coordinator: "I am idle, I hold model M", with the results of its last batch.
// Requests and heartbeats share one tag, so MPI keeps them in the order a worker sent them.
struct WorkRequest {
  int32_t held_model = -1;  // -1: none loaded
  bool stopping = false;    // this worker saw a stop request and will take no more work
  int32_t stop_signal = 0;
  std::string fatal;        // non-empty: the StopRunError that stops this worker (and the run)
  std::vector<TaskResult> results;
};

std::vector<char> encode_request(const WorkRequest& req);
std::vector<char> encode_work(const std::vector<Task>& batch);
std::vector<char> encode_stop(StopReason reason);
std::vector<char> encode_heartbeat();

// Peeks the kind byte (and checks the version) of any message.
MessageKind message_kind(const std::vector<char>& bytes);
WorkRequest decode_request(const std::vector<char>& bytes);
std::vector<Task> decode_work(const std::vector<char>& bytes);
StopReason decode_stop(const std::vector<char>& bytes);

}  // namespace crammer
