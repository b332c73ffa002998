// ResultsWriter: journal first (fdatasync'ed), then the HDF5 file in SWMR mode. Opening in
// resume mode rebuilds the HDF5 file from the journal when the last session did not close
// cleanly. See docs/results-file.md for the guarantees.
#include "crammer/store/results_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "crammer/util/error.hpp"
#include "crammer/util/file.hpp"
#include "appender.hpp"
#include "h5.hpp"
#include "crash_guard.hpp"
#include "journal.hpp"
#include "row_layout.hpp"
#include "row_ledger.hpp"
#include "schema.hpp"

namespace crammer {

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void fsync_or_throw(const std::string& path) {
  std::string error;
  if (!fsync_path(path, false, error)) throw StoreError(path + ": " + error);
}

// `flags`: H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE to append, H5F_ACC_RDONLY to check. Appending opens
// in SWMR-write mode at once: opening plain RDWR first and starting SWMR later left a window in
// which a killed writer left the file marked "open for write", which readers refuse.
h5::Id open_file(const std::string& path, unsigned flags) {
  h5::Id fapl = h5::plist_id(CRAMMER_H5(H5Pcreate(H5P_FILE_ACCESS), path));
  CRAMMER_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path);
  // The journal's flock keeps writers apart; HDF5's own lock is off as in the readers, because
  // HDF5 refuses to open one file twice in a process with different locking settings.
  CRAMMER_H5(H5Pset_file_locking(fapl, false, true), path);
  CRAMMER_H5(H5Pset_metadata_read_attempts(fapl, schema::kMetadataReadAttempts), path);
  return h5::file_id(CRAMMER_H5(H5Fopen(path.c_str(), flags, fapl), path));
}

}  // namespace

struct ResultsWriter::Impl {
  std::string path;
  Journal journal;
  RunHeader header;
  h5::Id file;
  std::optional<store::Appender> appender;
  store::RowLedger ledger;     // which stored rows are live
  std::set<std::string> retry;  // tasks stored as failed when the file was opened: run again

  std::map<int32_t, int64_t> d_model;  // model_index -> d_model (to check memory blocks)
  bool broken = false;

  // Writes a complete HDF5 file from `header` and `rows` next to `path`, then renames it over
  // `path`: a crash leaves either the old file or the new one.
  void build_file(const std::vector<RetryBatch>& batches) {
    const std::string tmp = path + ".rebuild.tmp";
    {
      h5::Id f = schema::create_file(tmp, header);
      store::Appender a(f, tmp, header);
      store::RowLedger replay;  // append()'s bookkeeping, record by record
      for (const auto& b : batches) {
        a.set_status(replay.live_rows(b.superseded), TaskStatus::superseded);
        replay.supersede(b.superseded);
        std::vector<TaskResult> fresh;
        for (size_t i : replay.fresh(b.rows)) fresh.push_back(b.rows[i]);
        a.append(fresh);
        for (const auto& r : fresh) replay.add(r.task_key, r.length, r.status);
      }
      a.close();
      f.close(tmp);
    }
    fsync_or_throw(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw StoreError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
    fsync_parent_dir(path);
  }

  // The journal's batches of rows, in order (a plain rows record supersedes nothing).
  std::vector<RetryBatch> journal_batches() {
    std::vector<RetryBatch> batches;
    journal.scan([&](JournalType type, const std::string& payload) {
      if (type == JournalType::rows) batches.push_back({{}, decode_rows(payload, journal.path(), journal.version())});
      if (type == JournalType::retry) batches.push_back(decode_retry(payload, journal.path(), journal.version()));
    });
    return batches;
  }

  void check_fingerprint(const std::string& stored, const std::string& wanted) const {
    if (stored == wanted) return;
    throw ConfigError("results file " + path + " was written under a different config "
                      "(config_fingerprint " + stored + " in the file, " + wanted +
                      " now): pass a different output.path to keep it, or --fresh to "
                      "overwrite it");
  }

  // Opens `path` for appending in SWMR mode and loads the stored rows' keys and statuses.
  void open_for_append() {
    file = open_file(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE);
    if (!store::layout_current(file, path)) {
      // Written before rows could be superseded (its status type cannot take one) or before a
      // series of the field list existed: rebuilt once from the journal with today's layout.
      file.close(path);
      spdlog::info("results file {}: rewriting it from its journal {} with the current layout", path,
                   journal.path());
      build_file(journal_batches());
      file = open_file(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE);
    }
    {
      const std::string where = path + ":/results";
      h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(file, "results", H5P_DEFAULT), where));
      hsize_t n = h5::rows_of(ds, where);
      std::vector<schema::KeyRow> keys(n);
      h5::Id kt = schema::key_type();
      h5::read_rows(ds, kt, keys.data(), 0, n, where);
      for (const auto& k : keys)
        ledger.add(std::string(k.task_key, strnlen(k.task_key, sizeof k.task_key)), k.length,
                   static_cast<TaskStatus>(k.status));
    }
    retry = ledger.failed_keys();
    // SWMR since the open: readers may open the file while we append.
    appender.emplace(file, path, header);
  }

  // open_for_append, where the file opened but its tables do not: damage the header check and
  // the adoption did not read (the results and memory tables' object headers).
  void open_for_append_or_explain() {
    try {
      open_for_append();
    } catch (const ResultsFileError&) {
      throw;
    } catch (const StoreError& e) {
      if (!file.valid()) throw;  // not even opened: permissions, locks; its own message says
      throw ResultsFileError("results file " + path + " is damaged. " + schema::move_away_advice(path) + "\n" +
                             e.what());
    }
  }

  void create_new(const RunHeader& h) {
    header = h;
    for (const auto& m : header.models) schema::memory_dataset(m.name);  // fail before writing
    journal.clear();
    journal.append(JournalType::header, encode_header(header));
    build_file({});
  }

  // An HDF5 file without a journal (journal deleted after a run): adopt it, rewrite the journal.
  void adopt_existing(const RunInfo& run) {
    std::vector<TaskResult> rows;
    {
      store::CrashGuard guard(store::damaged_file_message(path));
      h5::Id f;
      try {
        f = schema::open_for_reading(path);
      } catch (const ResultsFileError& e) {
        throw ResultsFileError(path + " exists but cannot be resumed, and no journal " + journal.path() +
                               " holds its rows: move it away or use --fresh to start over. " + e.what());
      }
      int32_t version = 0;
      try {
        header = schema::read_header(f, path, &version);
        check_fingerprint(header.run.config_fingerprint, run.config_fingerprint);
        rows = schema::read_results(f, path, header, {true, true, true});
      } catch (const ResultsFileError&) {
        throw;
      } catch (const StoreError& e) {
        throw ResultsFileError(path + " is damaged and no journal " + journal.path() +
                               " holds its rows: move it away or use --fresh to start over.\n" + e.what());
      }
    }
    spdlog::info("results file {} has no journal: writing {} from its {} rows", path,
                 journal.path(), rows.size());
    journal.clear();
    journal.append(JournalType::header, encode_header(header));
    journal.append(JournalType::rows, encode_rows(rows));
    journal.append(JournalType::clean, encode_u64(rows.size()));
  }

  void resume(const RunInfo& run, const RunHeader& fallback) {
    std::optional<RunHeader> jheader;
    std::optional<uint64_t> clean_rows;
    std::optional<JournalType> first_type;
    std::string first_payload;
    // Rows are decoded only where the file is rebuilt or the journal rewritten (journal_batches):
    // a clean resume reads the header and the clean mark alone.
    const JournalScan scan = journal.scan([&](JournalType type, const std::string& payload) {
      if (!first_type) {
        first_type = type;
        if (type == JournalType::header) first_payload = payload;
      }
      if (type == JournalType::clean) clean_rows = decode_u64(payload, journal.path());
      else clean_rows.reset();
    });
    // The run header is the first record; past a damaged start it is lost (a later header
    // record would be a stray one).
    if (first_type && scan.starts_intact()) {
      if (*first_type != JournalType::header)
        throw StoreError("journal " + journal.path() + " does not start with a header record");
      jheader = decode_header(first_payload, journal.path(), journal.version());
    }
    if (!scan.intact()) {
      resume_damaged(run, scan, jheader, journal_batches());
      return;
    }
    if (scan.records == 0) {
      if (file_exists(path)) adopt_existing(run);
      else create_new(fallback);
      return;
    }
    header = *jheader;
    check_fingerprint(header.run.config_fingerprint, run.config_fingerprint);
    std::string why;
    if (!clean_rows) {
      why = "the last run did not close it cleanly";
    } else if (!file_exists(path)) {
      why = "it is missing";
    } else {
      try {
        store::CrashGuard guard(store::damaged_file_message(path));
        h5::Id f = open_file(path, H5F_ACC_RDONLY);  // a check must not mark the file open
        int32_t version = 0;
        RunHeader h = schema::read_header(f, path, &version);
        h5::Id ds = h5::dataset_id(CRAMMER_H5(H5Dopen2(f, "results", H5P_DEFAULT), path + ":/results"));
        hsize_t n = h5::rows_of(ds, path + ":/results");
        if (h.run.config_fingerprint != header.run.config_fingerprint)
          throw StoreError("results file " + path + " and its journal " + journal.path() +
                           " disagree on the config fingerprint: move one of them away");
        if (n != *clean_rows)
          why = "it holds " + std::to_string(n) + " rows, its journal " +
                std::to_string(*clean_rows);
      } catch (const StoreError& e) {
        if (std::string(e.what()).find("disagree") != std::string::npos) throw;
        why = std::string("it cannot be read (") + e.what() + ")";
      }
    }
    if (!why.empty()) {
      spdlog::warn("rebuilding results file {} from its journal {}: {}", path, journal.path(), why);
      build_file(journal_batches());
    }
    if (!journal.is_current()) rewrite_journal(journal_batches());
  }

  // The results file's header and every row (superseded ones too) when it was closed cleanly
  // and reads intact under this config; nullopt and `why` otherwise. A file a crashed run left
  // open for writing is refused by the plain read-only open: its rows may lag the journal's.
  std::optional<std::vector<TaskResult>> read_closed_file(const RunInfo& run, RunHeader& file_header,
                                                          std::string& why) {
    if (!file_exists(path)) {
      why = "it is missing";
      return std::nullopt;
    }
    try {
      store::CrashGuard guard(store::damaged_file_message(path));
      h5::Id f = open_file(path, H5F_ACC_RDONLY);
      int32_t version = 0;
      file_header = schema::read_header(f, path, &version);
      check_fingerprint(file_header.run.config_fingerprint, run.config_fingerprint);
      return schema::read_results(f, path, file_header, {true, true, true});
    } catch (const ConfigError&) {
      throw;
    } catch (const StoreError& e) {
      why = std::string("it cannot be read as a closed file (") + e.what() + ")";
      return std::nullopt;
    }
  }

  // A journal with damaged spans (scan.describe()). A results file that was closed cleanly and
  // reads intact keeps all its rows; journal batches it does not hold (counted per task key and
  // length, in order) are added to it. Otherwise the file is rebuilt from the journal's intact
  // batches and only the damaged records' rows are lost. Either way the journal is rewritten.
  void resume_damaged(const RunInfo& run, const JournalScan& scan, const std::optional<RunHeader>& jheader,
                      const std::vector<RetryBatch>& batches) {
    RunHeader file_header;
    std::string why;
    std::optional<std::vector<TaskResult>> stored = read_closed_file(run, file_header, why);
    if (jheader) check_fingerprint(jheader->run.config_fingerprint, run.config_fingerprint);
    if (stored) {
      header = file_header;
      std::map<std::string, int64_t> in_file, in_journal;  // rows per "key\nlength"
      const auto id = [](const TaskResult& r) { return r.task_key + '\n' + std::to_string(r.length); };
      for (const auto& r : *stored) ++in_file[id(r)];
      std::vector<RetryBatch> rebuilt{{{}, std::move(*stored)}}, missing;
      size_t missing_rows = 0;
      for (const auto& b : batches) {
        bool held = true;
        for (const auto& r : b.rows) held = ++in_journal[id(r)] <= in_file[id(r)] && held;
        if (held) continue;
        missing.push_back(b);
        missing_rows += b.rows.size();
      }
      const size_t kept = rebuilt.front().rows.size();
      rebuilt.insert(rebuilt.end(), missing.begin(), missing.end());
      spdlog::warn("journal {} is damaged ({}); results file {} was closed cleanly and reads intact: its {} rows are "
                   "kept{}, and the journal is rewritten from them",
                   journal.path(), scan.describe(), path, kept,
                   missing.empty() ? std::string()
                                   : ", with " + std::to_string(missing_rows) + " rows only the journal held");
      if (!missing.empty()) build_file(rebuilt);
      rewrite_journal(rebuilt);
      return;
    }
    if (!jheader)
      throw ResultsFileError("journal " + journal.path() + " lost its header record (" + scan.describe() +
                             ") and results file " + path + " " + why +
                             ": neither can be resumed. Move both away to start over (or rerun with --fresh).");
    header = *jheader;
    size_t rows = 0;
    for (const auto& b : batches) rows += b.rows.size();
    spdlog::warn("rebuilding results file {} from its journal {}: the file {}; the journal is damaged ({}), so "
                 "rows of its damaged records are lost and computed again ({} intact rows kept)",
                 path, journal.path(), why, scan.describe(), rows);
    build_file(batches);
    rewrite_journal(batches);
  }

  // A journal of an older format gets rows of this one appended next: rewrite what it holds in
  // this format first, so one journal never mixes two row formats. No clean record: should
  // this run crash, the next rebuilds the file from the journal, which is always right.
  void rewrite_journal(const std::vector<RetryBatch>& batches) {
    const uint32_t old_version = journal.version();
    journal.clear();
    journal.append(JournalType::header, encode_header(header));
    for (const auto& b : batches)
      if (b.superseded.empty()) journal.append(JournalType::rows, encode_rows(b.rows));
      else journal.append(JournalType::retry, encode_retry(b));
    if (old_version != journal.version())
      spdlog::info("journal {} rewritten from format {} to {}", journal.path(), old_version, journal.version());
  }
};

ResultsWriter::ResultsWriter() = default;

ResultsWriter::~ResultsWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("closing results file: {}", e.what());
  }
}

void ResultsWriter::open(const std::string& path, const RunInfo& run,
                         const std::vector<ModelRecord>& models,
                         const std::vector<SampleRecord>& samples, OpenMode mode) {
  if (impl_) close();
  h5::silence_errors();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const bool had_journal = file_exists(journal_path(path));
  impl->journal = Journal::open_locked(journal_path(path));
  try {
    RunHeader fresh{run, models, samples};
    if (mode == OpenMode::fresh) {
      if (file_exists(path) && std::remove(path.c_str()) != 0)
        throw StoreError("cannot remove " + path + " for --fresh: " + std::strerror(errno));
      impl->create_new(fresh);
    } else {
      impl->resume(run, fresh);
    }
    for (const auto& m : impl->header.models) impl->d_model[m.model_index] = m.d_model;
    impl->open_for_append_or_explain();
  } catch (...) {
    // A refused open (the path is not a results file, a different config, ...) leaves no
    // journal of its own behind; one that was there stays untouched.
    if (!had_journal) std::remove(journal_path(path).c_str());
    throw;
  }
  impl_ = std::move(impl);
}

std::set<std::string> ResultsWriter::finished_keys(bool keep_failed) const {
  return impl_ ? impl_->ledger.finished_keys(keep_failed) : std::set<std::string>{};
}

size_t ResultsWriter::failed_tasks() const { return impl_ ? impl_->ledger.failed_keys().size() : 0; }

bool ResultsWriter::has_row(const std::string& task_key, int32_t length) const {
  return impl_ && impl_->ledger.has_row(task_key, length);
}

size_t ResultsWriter::append(const std::vector<TaskResult>& rows) {
  if (!impl_) throw StoreError("ResultsWriter::append: no results file is open");
  Impl& m = *impl_;
  if (m.broken)
    throw StoreError("results file " + m.path + ": an earlier write failed; the rows are safe "
                     "in " + m.journal.path() + " and reopening the file rebuilds it");
  // Tasks stored as failed when the file was opened are run again: their new rows replace them.
  std::set<std::string> replaced;
  for (const auto& r : rows)
    if (m.retry.count(r.task_key)) replaced.insert(r.task_key);
  std::vector<TaskResult> fresh;
  for (size_t i : m.ledger.fresh(rows, replaced)) {
    const TaskResult& r = rows[i];
    const std::string where = "results file " + m.path + ", row " + r.task_key + " length " +
                              std::to_string(r.length);
    std::vector<char> probe(schema::RowLayout::get().row_size());
    schema::RowLayout::get().encode(r, {}, probe.data(), where);  // checks the key
    auto d = m.d_model.find(r.model_index);
    if (d == m.d_model.end())
      throw StoreError(where + ": model_index " + std::to_string(r.model_index) +
                       " is not in /models (" + std::to_string(m.d_model.size()) + " models)");
    if (!r.memory.empty() &&
        (r.d_model <= 0 || r.memory.size() % static_cast<size_t>(r.d_model) != 0))
      throw StoreError(where + ": memory has " + std::to_string(r.memory.size()) +
                       " values, not a multiple of d_model " + std::to_string(r.d_model));
    if (r.curve_loss.size() != r.curve_acc.size())
      throw StoreError(where + ": curve_loss has " + std::to_string(r.curve_loss.size()) +
                       " points, curve_acc " + std::to_string(r.curve_acc.size()));
    fresh.push_back(r);
  }
  if (fresh.empty()) return 0;
  // Durable from here on. Superseding and storing are one record: a crash between them would
  // otherwise leave a task with neither its old row nor its new one.
  if (replaced.empty()) m.journal.append(JournalType::rows, encode_rows(fresh));
  else m.journal.append(JournalType::retry, encode_retry({replaced, fresh}));
  try {
    m.appender->set_status(m.ledger.live_rows(replaced), TaskStatus::superseded);
    m.appender->append(fresh);
  } catch (...) {
    m.broken = true;
    throw;
  }
  m.ledger.supersede(replaced);
  for (const auto& k : replaced) m.retry.erase(k);
  for (const auto& r : fresh) m.ledger.add(r.task_key, r.length, r.status);
  return fresh.size();
}

void ResultsWriter::flush() {
  if (!impl_ || impl_->broken) return;
  CRAMMER_H5(H5Fflush(impl_->file, H5F_SCOPE_LOCAL), impl_->path);
}

void ResultsWriter::close() {
  if (!impl_) return;
  auto impl = std::move(impl_);
  if (impl->broken) return;  // the journal stays "unclean": the next open rebuilds the file
  uint64_t rows = impl->appender->rows();
  impl->appender->close();
  impl->appender.reset();
  impl->file.close(impl->path);
  fsync_or_throw(impl->path);
  impl->journal.append(JournalType::clean, encode_u64(rows));
  impl->journal.close();
}

bool ResultsWriter::is_open() const { return impl_ != nullptr; }

const std::string& ResultsWriter::path() const {
  static const std::string none;
  return impl_ ? impl_->path : none;
}

size_t ResultsWriter::row_count() const {
  return impl_ && impl_->appender ? impl_->appender->rows() : 0;
}

}  // namespace crammer
