#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "crammer/util/error.hpp"
#include "crammer/util/log.hpp"

namespace crammer {
namespace {

TEST(Logging, LinesEscapeRawBytesQuotedFromFiles) {
  init_logging("info", 3);
  testing::internal::CaptureStderr();
  spdlog::info("model '{}' has no rows", std::string("m\x89\x01\xc3\xa9", 5));
  spdlog::default_logger()->flush();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("[rank 3] [info] model 'm\\x89\\x01\xc3\xa9' has no rows\n"), std::string::npos) << err;
}

TEST(Logging, UnknownLevelIsAConfigErrorListingTheLevels) {
  try {
    init_logging("loud");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'loud': expected trace, debug, info, warn, error or off"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace crammer
