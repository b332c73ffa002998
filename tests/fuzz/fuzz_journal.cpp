// The results journal reader (store/journal.hpp) on an arbitrary file: open, scan, and decode
// every record the scan accepts, as a resume does.
#include "fuzz_support.hpp"
#include "journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = crammer::fuzz::write_file("results.h5.journal", data, size);
  crammer::fuzz::expect_only_crammer_errors("fuzz_journal", [&] {
    crammer::Journal j = crammer::Journal::open_locked(path);
    j.scan([&](crammer::JournalType type, const std::string& payload) {
          switch (type) {
            case crammer::JournalType::header: crammer::decode_header(payload, path, j.version()); break;
            case crammer::JournalType::rows: crammer::decode_rows(payload, path, j.version()); break;
            case crammer::JournalType::clean: crammer::decode_u64(payload, path); break;
            case crammer::JournalType::retry: crammer::decode_retry(payload, path, j.version()); break;
          }
        });
  });
  return 0;
}
