// Append-only, checksummed journal of a results file (see journal.hpp for the format).
#include "journal.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <spdlog/spdlog.h>

#include "crammer/plan/result_fields.hpp"
#include "crammer/util/error.hpp"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the journal codec writes host byte order and assumes a little-endian host"
#endif

namespace crammer {

namespace {

constexpr char kMagic[8] = {'C', 'R', 'M', 'J', 'R', 'N', 'L', '\n'};
// 2: model records carry bos_token.
constexpr uint32_t kVersion = 2;
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

void fsync_dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
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

// Little-endian byte stream used for record payloads.
class Out {
 public:
  template <class T>
  void put(T v) {
    buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    buf_ += s;
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

class In {
 public:
  In(const std::string& s, const std::string& where) : s_(s), where_(where) {}
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, s_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string str() {
    auto n = get<uint64_t>();
    need(n);
    std::string v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  template <class T>
  std::vector<T> vec() {
    auto n = get<uint64_t>();
    if (n > (s_.size() - pos_) / sizeof(T)) need(s_.size() + 1);
    std::vector<T> v(n);
    std::memcpy(v.data(), s_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  void done() const {
    if (pos_ != s_.size())
      throw StoreError(where_ + ": " + std::to_string(s_.size() - pos_) +
                       " unexpected trailing bytes in a journal record");
  }

 private:
  void need(size_t n) const {
    if (n > s_.size() - pos_)
      throw StoreError(where_ + ": journal record ends early (offset " + std::to_string(pos_) +
                       ", needs " + std::to_string(n) + " more bytes)");
  }
  const std::string& s_;
  std::string where_;
  size_t pos_ = 0;
};

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Journal::Journal(Journal&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
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
      throw StoreError("results journal " + path +
                       " is locked: another crammer run is writing this results file; wait for "
                       "it to finish or choose another output.path");
    throw StoreError(sys_error("cannot lock", path));
  }
  struct stat st {};
  if (::fstat(j.fd_, &st) != 0) throw StoreError(sys_error("cannot stat", path));
  if (st.st_size < static_cast<off_t>(kFileHeader)) {
    // New, or a crash before the header was complete: nothing of value can be in it.
    j.clear();
    fsync_dir_of(path);
    return j;
  }
  char head[kFileHeader];
  pread_all(j.fd_, head, kFileHeader, 0, path);
  if (std::memcmp(head, kMagic, sizeof kMagic) != 0)
    throw StoreError("journal " + path + " is not a crammer results journal (bad magic bytes); "
                     "move it away if it is not one");
  uint32_t version = 0;
  std::memcpy(&version, head + 8, 4);
  if (version != kVersion)
    throw StoreError("journal " + path + " has format version " + std::to_string(version) +
                     "; this crammer reads version " + std::to_string(kVersion));
  return j;
}

void Journal::clear() {
  if (::ftruncate(fd_, 0) != 0) throw StoreError(sys_error("cannot truncate", path_));
  char head[kFileHeader] = {};
  std::memcpy(head, kMagic, sizeof kMagic);
  std::memcpy(head + 8, &kVersion, 4);
  if (::lseek(fd_, 0, SEEK_SET) < 0) throw StoreError(sys_error("cannot seek", path_));
  write_all(fd_, head, kFileHeader, path_);
  if (::fdatasync(fd_) != 0) throw StoreError(sys_error("fdatasync failed", path_));
}

size_t Journal::scan(const std::function<void(JournalType, const std::string&)>& fn,
                     bool truncate_tail) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw StoreError(sys_error("cannot stat", path_));
  const off_t size = st.st_size;
  off_t pos = kFileHeader;
  size_t count = 0;
  std::string payload;
  while (pos < size) {
    char head[kRecordHeader];
    if (pread_all(fd_, head, kRecordHeader, pos, path_) < kRecordHeader) break;
    uint32_t type = 0, crc = 0;
    uint64_t length = 0;
    std::memcpy(&type, head, 4);
    std::memcpy(&crc, head + 4, 4);
    std::memcpy(&length, head + 8, 8);
    if (length > static_cast<uint64_t>(size - pos - static_cast<off_t>(kRecordHeader))) break;
    payload.resize(length);
    if (pread_all(fd_, payload.data(), length, pos + kRecordHeader, path_) < length) break;
    uint32_t c = crc32(head, 4);
    c = crc32(head + 8, 8, c);
    c = crc32(payload.data(), payload.size(), c);
    if (c != crc) break;
    if (type < 1 || type > 3) break;
    fn(static_cast<JournalType>(type), payload);
    ++count;
    pos += static_cast<off_t>(kRecordHeader + length);
  }
  if (pos < size) {
    spdlog::warn("journal {}: ignoring {} bytes of a torn or corrupt tail after record {}", path_,
                 size - pos, count);
    if (truncate_tail) {
      if (::ftruncate(fd_, pos) != 0) throw StoreError(sys_error("cannot truncate", path_));
      if (::fdatasync(fd_) != 0) throw StoreError(sys_error("fdatasync failed", path_));
    }
  }
  return count;
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
  Out o;
  const RunInfo& r = h.run;
  o.str(r.config_yaml);
  o.str(r.config_fingerprint);
  o.str(r.command_line);
  o.str(r.start_time);
  o.put<uint64_t>(r.hosts.size());
  for (const auto& s : r.hosts) o.str(s);
  o.put<uint64_t>(r.versions.size());
  for (const auto& [k, v] : r.versions) {
    o.str(k);
    o.str(v);
  }
  o.put<uint64_t>(h.models.size());
  for (const auto& m : h.models) {
    o.put<int32_t>(m.model_index);
    o.str(m.name);
    o.str(m.path);
    o.str(m.dtype);
    o.str(m.model_type);
    o.put<int64_t>(m.d_model);
    o.put<int64_t>(m.num_layers);
    o.put<int64_t>(m.vocab_size);
    o.put<int64_t>(m.n_params);
    o.put<int32_t>(m.bos_token);
  }
  o.put<uint64_t>(h.samples.size());
  for (const auto& s : h.samples) {
    o.put<int64_t>(s.sample_id);
    o.put<int32_t>(s.model_index);
    o.str(s.source);
    o.put<int64_t>(s.offset);
    o.str(s.text_kind);
    o.str(s.text);
    o.vec(s.token_ids);
  }
  return o.take();
}

RunHeader decode_header(const std::string& payload, const std::string& where) {
  In in(payload, where);
  RunHeader h;
  RunInfo& r = h.run;
  r.config_yaml = in.str();
  r.config_fingerprint = in.str();
  r.command_line = in.str();
  r.start_time = in.str();
  for (auto n = in.get<uint64_t>(); n > 0; --n) r.hosts.push_back(in.str());
  for (auto n = in.get<uint64_t>(); n > 0; --n) {
    std::string k = in.str();
    r.versions[k] = in.str();
  }
  for (auto n = in.get<uint64_t>(); n > 0; --n) {
    ModelRecord m;
    m.model_index = in.get<int32_t>();
    m.name = in.str();
    m.path = in.str();
    m.dtype = in.str();
    m.model_type = in.str();
    m.d_model = in.get<int64_t>();
    m.num_layers = in.get<int64_t>();
    m.vocab_size = in.get<int64_t>();
    m.n_params = in.get<int64_t>();
    m.bos_token = in.get<int32_t>();
    h.models.push_back(std::move(m));
  }
  for (auto n = in.get<uint64_t>(); n > 0; --n) {
    SampleRecord s;
    s.sample_id = in.get<int64_t>();
    s.model_index = in.get<int32_t>();
    s.source = in.str();
    s.offset = in.get<int64_t>();
    s.text_kind = in.str();
    s.text = in.str();
    s.token_ids = in.vec<int32_t>();
    h.samples.push_back(std::move(s));
  }
  in.done();
  return h;
}

namespace {

struct RowOut {
  Out& o;
  void text(const char*, const std::string& s) { o.str(s); }
  template <class T>
  void num(const char*, const T& v) { o.put<T>(v); }
  void flag(const char*, bool b) { o.put<uint8_t>(b ? 1 : 0); }
  void status(const char*, TaskStatus s) { o.put<int8_t>(static_cast<int8_t>(s)); }
  void floats(const char*, const std::vector<float>& v) { o.vec(v); }
};

struct RowIn {
  In& in;
  const std::string& where;
  const TaskResult& row;
  void text(const char*, std::string& s) { s = in.str(); }
  template <class T>
  void num(const char*, T& v) { v = in.get<T>(); }
  void flag(const char*, bool& b) { b = in.get<uint8_t>() != 0; }
  void status(const char*, TaskStatus& s) {
    auto b = in.get<int8_t>();
    if (!valid_status_byte(b))
      throw StoreError(where + ": row '" + row.task_key + "' has status byte " + std::to_string(b) +
                       ", expected 0 (done), 1 (failed) or 2 (skipped)");
    s = static_cast<TaskStatus>(b);
  }
  void floats(const char*, std::vector<float>& v) { v = in.vec<float>(); }
};

}  // namespace

std::string encode_rows(const std::vector<TaskResult>& rows) {
  Out o;
  o.put<uint64_t>(rows.size());
  RowOut v{o};
  for (const auto& r : rows) visit_result_fields(v, r);
  return o.take();
}

std::vector<TaskResult> decode_rows(const std::string& payload, const std::string& where) {
  In in(payload, where);
  auto n = in.get<uint64_t>();
  std::vector<TaskResult> rows;
  rows.reserve(std::min<uint64_t>(n, payload.size()));
  for (uint64_t i = 0; i < n; ++i) {
    TaskResult r;
    RowIn v{in, where, r};
    visit_result_fields(v, r);
    rows.push_back(std::move(r));
  }
  in.done();
  return rows;
}

std::string encode_u64(uint64_t v) {
  Out o;
  o.put<uint64_t>(v);
  return o.take();
}

uint64_t decode_u64(const std::string& payload, const std::string& where) {
  In in(payload, where);
  auto v = in.get<uint64_t>();
  in.done();
  return v;
}

}  // namespace crammer
