// Log records cannot be forged or broken by the text they carry.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>

#include "engine/common/logging.h"
#include "engine/common/safe_json.h"

namespace kinema {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

TEST(Logging, JsonRecordsEscapeAnOperatorsReasonThatTriesToForgeARecord) {
  const std::string reason =
      "done\"}\n{\"time\":\"2020-01-01T00:00:00Z\",\"level\":\"info\",\"msg\":\"forged \\ record\x01 \xff";
  ::testing::internal::CaptureStderr();
  SetupLogging("json", "info");
  spdlog::info("operator abort (reason: {})", reason);
  spdlog::default_logger()->flush();
  std::string err = ::testing::internal::GetCapturedStderr();
  auto lines = Lines(err);
  ASSERT_EQ(lines.size(), 1u) << "one message, one record: " << err;
  auto rec = safe_json::Parse(lines[0]);
  ASSERT_TRUE(rec.is_object()) << lines[0];
  EXPECT_EQ(safe_json::String(rec, "level"), "info");
  const std::string msg = safe_json::String(rec, "msg");
  EXPECT_EQ(msg.rfind("operator abort (reason: done\"}\n{\"time\"", 0), 0u) << msg;
  EXPECT_NE(msg.find("forged \\ record\x01 \xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 replaced";
}

TEST(Logging, TextRecordsKeepOneLinePerMessage) {
  ::testing::internal::CaptureStderr();
  SetupLogging("text", "info");
  spdlog::warn("line one\nFAKE 2020-01-01 ERROR injected\r\x1b[31m");
  spdlog::default_logger()->flush();
  std::string err = ::testing::internal::GetCapturedStderr();
  auto lines = Lines(err);
  ASSERT_EQ(lines.size(), 1u) << err;
  EXPECT_NE(lines[0].find("line one\\nFAKE 2020-01-01 ERROR injected\\r\\x1b[31m"), std::string::npos) << lines[0];
  EXPECT_EQ(TextLogEscape("tab\tstays"), "tab\tstays");
  EXPECT_EQ(JsonLogEscape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

}  // namespace
}  // namespace kinema
