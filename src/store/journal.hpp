// The append-only journal next to a results file ("<path>.journal"): every appended batch of
// rows is written and fdatasync'ed here before ResultsWriter::append returns, so a crash loses
// nothing reported as stored; the HDF5 file can be rebuilt from it. Format (little-endian):
//   header  "CRMJRNL\n" u32 version (2 to 5, see journal.cpp) u32 0
//   record  u32 type, u32 crc32(type|length|payload), u64 length, payload[length]
// A damaged record or a torn tail is skipped: the scan resynchronises at the next record whose
// checksum holds and reports the bytes it could not read; a resume then rewrites the journal.
// Not for readers of results: they read the HDF5 file.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "crammer/core/result_codec.hpp"
#include "crammer/store/results_file.hpp"

namespace crammer {

// The journal version this build writes: its rows are of the same result format.
constexpr uint32_t kJournalVersion = kResultFormat;

enum class JournalType : uint32_t {
  header = 1,  // RunHeader: first record, written when the results file is created
  rows = 2,    // one append() batch of TaskResult
  clean = 3,   // u64 row count: the HDF5 file was closed cleanly holding that many rows
  // A batch that retries failed tasks: the task keys whose live rows it supersedes, then its
  // rows. One record, so a crash keeps the old rows live or stores the new ones, never neither.
  retry = 4,
};

// What a scan read: its intact records, and the byte spans [begin, end) between them that hold
// no intact record (a flipped byte, a write cut short, a truncation).
struct JournalScan {
  struct Span {
    uint64_t begin = 0, end = 0;
  };
  size_t records = 0;
  std::vector<Span> damaged;
  uint64_t size = 0;  // of the file
  bool intact() const { return damaged.empty(); }
  // The first record starts at the file header's end: the run header, if the journal has one.
  bool starts_intact() const;
  uint64_t damaged_bytes() const;
  std::string describe() const;  // "37 bytes at offset 120 (...)" for warnings
};

class Journal {
 public:
  Journal() = default;
  Journal(Journal&& o) noexcept;
  Journal& operator=(Journal&& o) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();

  // Opens (creating if missing) and takes an exclusive lock: StoreError when another process
  // holds it (another writer of the same results file).
  static Journal open_locked(const std::string& path);

  // Calls `fn` for every intact record in order, past damaged spans (see JournalScan).
  JournalScan scan(const std::function<void(JournalType, const std::string&)>& fn);

  void clear();  // keep only the file header (fresh mode)
  void append(JournalType type, const std::string& payload);  // write + fdatasync
  void close();
  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }  // of the file's records
  bool is_current() const;                        // version() is the one this build writes

 private:
  int fd_ = -1;
  uint32_t version_ = 0;
  std::string path_;
};

// True when some process holds the journal's lock (a writer is active).
bool journal_locked(const std::string& path);

std::string encode_header(const RunHeader& h);
// `version`: the journal's (Journal::version()); older versions lack newer fields.
RunHeader decode_header(const std::string& payload, const std::string& where, uint32_t version);
// `version` older than the journal this build writes: the rows as that version held them.
std::string encode_rows(const std::vector<TaskResult>& rows, uint32_t version = kJournalVersion);
// `version`: the journal's (Journal::version()); older journals' rows lack later fields.
std::vector<TaskResult> decode_rows(const std::string& payload, const std::string& where, uint32_t version);
struct RetryBatch {
  std::set<std::string> superseded;  // task keys
  std::vector<TaskResult> rows;
};
std::string encode_retry(const RetryBatch& batch);
RetryBatch decode_retry(const std::string& payload, const std::string& where, uint32_t version);
std::string encode_u64(uint64_t v);
uint64_t decode_u64(const std::string& payload, const std::string& where);

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace crammer
