#include "engine/cloud/token_source.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kinema::cloud {
namespace {

class TokenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kinema-token-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/token";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& s) { std::ofstream(path_) << s; }
  std::string dir_, path_;
};

TEST_F(TokenFile, BareTokenIsTrimmed) {
  Write("  ya29.secret-token\n");
  auto t = NewFileTokenSource(path_)->Token();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "ya29.secret-token");
}

TEST_F(TokenFile, JsonAccessTokenIsRead) {
  Write(R"({"access_token": "ya29.json", "expires_in": 3599})");
  auto t = NewFileTokenSource(path_)->Token();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "ya29.json");
}

TEST_F(TokenFile, FileIsReReadSoRotationWorks) {
  auto src = NewFileTokenSource(path_);
  Write("one");
  EXPECT_EQ(*src->Token(), "one");
  Write("two");
  EXPECT_EQ(*src->Token(), "two");
}

TEST_F(TokenFile, BadFilesAreErrorsThatNeverShowTheToken) {
  auto src = NewFileTokenSource(path_);
  EXPECT_FALSE(src->Token().ok());  // missing
  Write("   \n");
  EXPECT_FALSE(src->Token().ok());  // empty
  Write("two words-secret");
  auto t = src->Token();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().find("secret"), std::string::npos) << t.status().message();
  Write(R"({"token": "x-secret"})");
  t = src->Token();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().find("x-secret"), std::string::npos);
}

TEST(NoTokenSourceTest, SendsNone) {
  auto t = NewNoTokenSource()->Token();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "");
}

TEST(MetadataTokenSourceTest, UnreachableServerIsAnErrorNamingWhere) {
  MetadataTokenOptions o;
  o.url = "http://127.0.0.1:1/computeMetadata/v1/instance/service-accounts/default/token";
  o.timeout = std::chrono::milliseconds(500);
  MetadataTokenSource src(std::make_shared<http::HttpClient>(), o);
  auto t = src.Token();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("127.0.0.1:1"), std::string::npos) << t.status().message();
  EXPECT_EQ(src.fetches(), 1);
}

}  // namespace
}  // namespace kinema::cloud
