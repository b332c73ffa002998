// Append-only, checksummed journal of a results file (see journal.hpp for the format).
#include "journal.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <spdlog/spdlog.h>

#include "crammer/core/result_codec.hpp"
#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"


namespace crammer {

namespace {

constexpr char kMagic[8] = {'C', 'R', 'M', 'J', 'R', 'N', 'L', '\n'};
// 2: model records carry bos_token. 3: sample records carry text_offset. 4: model records carry
// planned_tasks. 5, 6, 7: rows carry the fields of result format 5, 6, 7 (core/result_codec.hpp).
// Versions 2 to 6 are still read (text_offset 0, planned_tasks -1, fields of later formats at
// their defaults); a new journal is written as kVersion.
constexpr uint32_t kVersion = kJournalVersion;
constexpr uint32_t kOldestVersion = 2;
constexpr size_t kFileHeader = 16;
constexpr size_t kRecordHeader = 16;  // u32 type, u32 crc, u64 length

std::string sys_error(const std::string& what, const std::string& path) {
  return "journal " + path + ": " + what + ": " + std::strerror(errno);
}

void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw StoreError(sys_error("write failed", path));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads up to n bytes at offset; returns how many were read (short at end of file).
size_t pread_all(int fd, char* p, size_t n, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, p + done, n - done, offset + static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw StoreError(sys_error("read failed", path));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

[[noreturn]] void throw_store_error(const std::string& message) { throw StoreError(message); }

ByteReader record_reader(const std::string& payload, const std::string& where) {
  return ByteReader(payload.data(), payload.size(), where, throw_store_error);
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Journal::Journal(Journal&& o) noexcept : fd_(o.fd_), version_(o.version_), path_(std::move(o.path_)) {
  o.fd_ = -1;
}

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    version_ = o.version_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

Journal::~Journal() { close(); }

void Journal::close() {
  if (fd_ >= 0) ::close(fd_);  // also drops the flock
  fd_ = -1;
}

Journal Journal::open_locked(const std::string& path) {
  Journal j;
  j.path_ = path;
  j.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j.fd_ < 0) throw StoreError(sys_error("cannot open", path));
  if (::flock(j.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw ResultsLockedError("results journal " + path +
                       " is locked: another crammer run is writing this results file; wait for "
                       "it to finish or choose another output.path");
    throw StoreError(sys_error("cannot lock", path));
  }
  struct stat st {};
  if (::fstat(j.fd_, &st) != 0) throw StoreError(sys_error("cannot stat", path));
  if (st.st_size < static_cast<off_t>(kFileHeader)) {
    // New, or a crash before the header was complete: nothing of value can be in it.
    j.clear();
    fsync_parent_dir(path);
    return j;
  }
  char head[kFileHeader];
  pread_all(j.fd_, head, kFileHeader, 0, path);
  if (std::memcmp(head, kMagic, sizeof kMagic) != 0)
    throw StoreError("journal " + path + " is not a crammer results journal (bad magic bytes); "
                     "move it away if it is not one");
  uint32_t version = 0;
  std::memcpy(&version, head + 8, 4);
  if (version < kOldestVersion || version > kVersion)
    throw StoreError("journal " + path + " has format version " + std::to_string(version) +
                     "; this crammer reads versions " + std::to_string(kOldestVersion) + " to " +
                     std::to_string(kVersion));
  j.version_ = version;
  return j;
}

bool Journal::is_current() const { return version_ == kVersion; }

void Journal::clear() {
  version_ = kVersion;
  if (::ftruncate(fd_, 0) != 0) throw StoreError(sys_error("cannot truncate", path_));
  char head[kFileHeader] = {};
  std::memcpy(head, kMagic, sizeof kMagic);
  std::memcpy(head + 8, &kVersion, 4);
  if (::lseek(fd_, 0, SEEK_SET) < 0) throw StoreError(sys_error("cannot seek", path_));
  write_all(fd_, head, kFileHeader, path_);
  if (::fdatasync(fd_) != 0) throw StoreError(sys_error("fdatasync failed", path_));
}

namespace {

// The record at `pos` of the `size` bytes at `p`, when its header is plausible and its checksum
// holds: its type and payload length.
bool record_at(const char* p, uint64_t size, uint64_t pos, uint32_t& type, uint64_t& length) {
  if (size < pos || size - pos < kRecordHeader) return false;
  uint32_t crc = 0;
  std::memcpy(&type, p + pos, 4);
  std::memcpy(&crc, p + pos + 4, 4);
  std::memcpy(&length, p + pos + 8, 8);
  if (type < static_cast<uint32_t>(JournalType::header) || type > static_cast<uint32_t>(JournalType::retry))
    return false;
  if (length > size - pos - kRecordHeader) return false;
  uint32_t c = crc32(p + pos, 4);
  c = crc32(p + pos + 8, 8, c);
  return crc32(p + pos + kRecordHeader, length, c) == crc;
}

// A read-only map of the whole journal (the scan's view; the writer holds the lock meanwhile).
struct Mapped {
  const char* data = nullptr;
  uint64_t size = 0;
  Mapped(int fd, uint64_t n, const std::string& path) : size(n) {
    if (n == 0) return;
    void* m = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) throw StoreError(sys_error("cannot map", path));
    data = static_cast<const char*>(m);
  }
  ~Mapped() {
    if (data) ::munmap(const_cast<char*>(data), size);
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
};

}  // namespace

bool JournalScan::starts_intact() const { return damaged.empty() || damaged.front().begin > kFileHeader; }

uint64_t JournalScan::damaged_bytes() const {
  uint64_t n = 0;
  for (const auto& s : damaged) n += s.end - s.begin;
  return n;
}

std::string JournalScan::describe() const {
  std::string out;
  for (const auto& s : damaged) {
    if (!out.empty()) out += ", ";
    out += std::to_string(s.end - s.begin) + " bytes at offset " + std::to_string(s.begin);
    if (s.end == size) out += " (the end of the file: a write cut short or a truncation)";
  }
  return out.empty() ? "none" : out;
}

JournalScan Journal::scan(const std::function<void(JournalType, const std::string&)>& fn) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw StoreError(sys_error("cannot stat", path_));
  JournalScan out;
  out.size = static_cast<uint64_t>(st.st_size);
  Mapped map(fd_, out.size, path_);
  uint64_t pos = kFileHeader;
  std::string payload;
  uint32_t type = 0;
  uint64_t length = 0;
  while (pos < out.size) {
    if (!record_at(map.data, out.size, pos, type, length)) {
      // Resynchronise: the next offset where an intact record starts (a checksum over the type,
      // the length and the payload makes a false start practically impossible).
      uint64_t next = pos + 1;
      while (next < out.size && !record_at(map.data, out.size, next, type, length)) ++next;
      out.damaged.push_back({pos, next});  // the caller says what it does about them
      pos = next;
      continue;
    }
    payload.assign(map.data + pos + kRecordHeader, length);
    fn(static_cast<JournalType>(type), payload);
    ++out.records;
    pos += kRecordHeader + length;
  }
  return out;
}

void Journal::append(JournalType type, const std::string& payload) {
  std::string rec(kRecordHeader, '\0');
  auto t = static_cast<uint32_t>(type);
  uint64_t length = payload.size();
  std::memcpy(rec.data(), &t, 4);
  std::memcpy(rec.data() + 8, &length, 8);
  uint32_t c = crc32(rec.data(), 4);
  c = crc32(rec.data() + 8, 8, c);
  c = crc32(payload.data(), payload.size(), c);
  std::memcpy(rec.data() + 4, &c, 4);
  rec += payload;
  if (::lseek(fd_, 0, SEEK_END) < 0) throw StoreError(sys_error("cannot seek", path_));
  write_all(fd_, rec.data(), rec.size(), path_);
  if (::fdatasync(fd_) != 0) throw StoreError(sys_error("fdatasync failed", path_));
}

bool journal_locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

std::string encode_header(const RunHeader& h) {
  ByteWriter o;
  const RunInfo& r = h.run;
  o.put_string(r.config_yaml);
  o.put_string(r.config_fingerprint);
  o.put_string(r.command_line);
  o.put_string(r.start_time);
  o.put<uint64_t>(r.hosts.size());
  for (const auto& s : r.hosts) o.put_string(s);
  o.put<uint64_t>(r.versions.size());
  for (const auto& [k, v] : r.versions) {
    o.put_string(k);
    o.put_string(v);
  }
  o.put<uint64_t>(h.models.size());
  for (const auto& m : h.models) {
    o.put<int32_t>(m.model_index);
    o.put_string(m.name);
    o.put_string(m.path);
    o.put_string(m.dtype);
    o.put_string(m.model_type);
    o.put<int64_t>(m.d_model);
    o.put<int64_t>(m.num_layers);
    o.put<int64_t>(m.vocab_size);
    o.put<int64_t>(m.n_params);
    o.put<int32_t>(m.bos_token);
    o.put<int64_t>(m.planned_tasks);
  }
  o.put<uint64_t>(h.samples.size());
  for (const auto& s : h.samples) {
    o.put<int64_t>(s.sample_id);
    o.put<int32_t>(s.model_index);
    o.put_string(s.source);
    o.put<int64_t>(s.offset);
    o.put<int64_t>(s.text_offset);
    o.put_string(s.text_kind);
    o.put_string(s.text);
    o.put_vector(s.token_ids);
  }
  return o.release_string();
}

RunHeader decode_header(const std::string& payload, const std::string& where, uint32_t version) {
  ByteReader in = record_reader(payload, where);
  RunHeader h;
  RunInfo& r = h.run;
  r.config_yaml = in.get_string("config_yaml");
  r.config_fingerprint = in.get_string("config_fingerprint");
  r.command_line = in.get_string("command_line");
  r.start_time = in.get_string("start_time");
  for (auto n = in.get<uint64_t>("hosts"); n > 0; --n) r.hosts.push_back(in.get_string("host"));
  for (auto n = in.get<uint64_t>("versions"); n > 0; --n) {
    std::string k = in.get_string("version key");
    r.versions[k] = in.get_string("version");
  }
  for (auto n = in.get<uint64_t>("models"); n > 0; --n) {
    ModelRecord m;
    m.model_index = in.get<int32_t>("model.model_index");
    m.name = in.get_string("model.name");
    m.path = in.get_string("model.path");
    m.dtype = in.get_string("model.dtype");
    m.model_type = in.get_string("model.model_type");
    m.d_model = in.get<int64_t>("model.d_model");
    m.num_layers = in.get<int64_t>("model.num_layers");
    m.vocab_size = in.get<int64_t>("model.vocab_size");
    m.n_params = in.get<int64_t>("model.n_params");
    m.bos_token = in.get<int32_t>("model.bos_token");
    if (version >= 4) m.planned_tasks = in.get<int64_t>("model.planned_tasks");
    h.models.push_back(std::move(m));
  }
  for (auto n = in.get<uint64_t>("samples"); n > 0; --n) {
    SampleRecord s;
    s.sample_id = in.get<int64_t>("sample.sample_id");
    s.model_index = in.get<int32_t>("sample.model_index");
    s.source = in.get_string("sample.source");
    s.offset = in.get<int64_t>("sample.offset");
    if (version >= 3) s.text_offset = in.get<int64_t>("sample.text_offset");
    s.text_kind = in.get_string("sample.text_kind");
    s.text = in.get_string("sample.text");
    s.token_ids = in.get_vector<int32_t>("sample.token_ids");
    h.samples.push_back(std::move(s));
  }
  in.expect_end("header record");
  return h;
}

namespace {

void put_rows(ByteWriter& o, const std::vector<TaskResult>& rows, uint32_t format = kResultFormat) {
  o.put<uint64_t>(rows.size());
  for (const auto& r : rows) write_result(o, r, format);
}

// Journals before version 5 hold rows of result format 4.
uint32_t row_format(uint32_t journal_version) { return journal_version < 5 ? 4 : journal_version; }

std::vector<TaskResult> get_rows(ByteReader& in, size_t payload_size, uint32_t version) {
  auto n = in.get<uint64_t>("row count");
  std::vector<TaskResult> rows;
  rows.reserve(std::min<uint64_t>(n, payload_size));
  for (uint64_t i = 0; i < n; ++i) rows.push_back(read_result(in, row_format(version)));
  return rows;
}

}  // namespace

std::string encode_rows(const std::vector<TaskResult>& rows, uint32_t version) {
  ByteWriter o;
  put_rows(o, rows, row_format(version));
  return o.release_string();
}

std::vector<TaskResult> decode_rows(const std::string& payload, const std::string& where, uint32_t version) {
  ByteReader in = record_reader(payload, where);
  std::vector<TaskResult> rows = get_rows(in, payload.size(), version);
  in.expect_end("rows record");
  return rows;
}

std::string encode_retry(const RetryBatch& batch) {
  ByteWriter o;
  o.put<uint64_t>(batch.superseded.size());
  for (const auto& k : batch.superseded) o.put_string(k);
  put_rows(o, batch.rows);
  return o.release_string();
}

RetryBatch decode_retry(const std::string& payload, const std::string& where, uint32_t version) {
  ByteReader in = record_reader(payload, where);
  RetryBatch batch;
  for (auto n = in.get<uint64_t>("key count"); n > 0; --n) batch.superseded.insert(in.get_string("task key"));
  batch.rows = get_rows(in, payload.size(), version);
  in.expect_end("retry record");
  return batch;
}

std::string encode_u64(uint64_t v) {
  ByteWriter o;
  o.put<uint64_t>(v);
  return o.release_string();
}

uint64_t decode_u64(const std::string& payload, const std::string& where) {
  ByteReader in = record_reader(payload, where);
  auto v = in.get<uint64_t>("row count");
  in.expect_end("clean record");
  return v;
}

}  // namespace crammer
