// The wire decoder (sweep/wire.hpp) on arbitrary bytes: every message kind. A message that
// decodes, encoded again, must decode and encode to those same bytes (the input itself may be a
// non-canonical spelling: a bool byte of 0xff reads as true).
#include <vector>

#include "crammer/sweep/wire.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<char> bytes(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size);
  crammer::fuzz::expect_only_crammer_errors("fuzz_wire", [&] {
    switch (crammer::message_kind(bytes)) {
      case crammer::MessageKind::request: {
        const auto once = crammer::encode_request(crammer::decode_request(bytes));
        if (crammer::encode_request(crammer::decode_request(once)) != once) std::abort();
        break;
      }
      case crammer::MessageKind::work: {
        const auto once = crammer::encode_work(crammer::decode_work(bytes));
        if (crammer::encode_work(crammer::decode_work(once)) != once) std::abort();
        break;
      }
      case crammer::MessageKind::stop:
        if (crammer::encode_stop(crammer::decode_stop(bytes)) != bytes) std::abort();  // one byte, checked
        break;
      case crammer::MessageKind::heartbeat:
        break;
    }
  });
  return 0;
}
