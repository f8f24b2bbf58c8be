// UTF-8-respecting truncation and sanitising of outside text.
#include <gtest/gtest.h>

#include <string>

#include "engine/common/text.h"

namespace kinema {
namespace {

TEST(Utf8Text, PrefixNeverSplitsACharacter) {
  const std::string s = "ab\xe2\x82\xac" "cd";  // "ab€cd", € is 3 bytes
  EXPECT_EQ(Utf8Prefix(s, 2), "ab");
  EXPECT_EQ(Utf8Prefix(s, 3), "ab");
  EXPECT_EQ(Utf8Prefix(s, 4), "ab");
  EXPECT_EQ(Utf8Prefix(s, 5), "ab\xe2\x82\xac");
  EXPECT_EQ(Utf8Prefix(s, 100), s);
  for (size_t n = 0; n <= s.size(); ++n) EXPECT_TRUE(IsValidUtf8(Utf8Prefix(s, n))) << n;
}

TEST(Utf8Text, ExcerptOfABodyCutMidCharacterIsValidUtf8) {
  // The Prometheus-502 case: a body shortened to a fixed byte count.
  std::string body = std::string(199, 'x') + "\xc3\xa9" + std::string(50, 'y');
  std::string e = Excerpt(body, 200);
  EXPECT_TRUE(IsValidUtf8(e)) << e;
  EXPECT_EQ(e, std::string(199, 'x') + "...");
  EXPECT_EQ(Excerpt("  short body \n", 200), "short body");
}

TEST(Utf8Text, SanitizeReplacesEveryInvalidSequence) {
  EXPECT_EQ(SanitizeUtf8("ok"), "ok");
  EXPECT_EQ(SanitizeUtf8("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("a\xc0\xaf" "b"), "a\xef\xbf\xbd\xef\xbf\xbd" "b") << "overlong '/'";
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "a surrogate";
  EXPECT_EQ(SanitizeUtf8("\xf4\x90\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "> U+10FFFF";
  EXPECT_EQ(SanitizeUtf8("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80") << "an emoji stays";
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    EXPECT_TRUE(IsValidUtf8(SanitizeUtf8(one + one + "\x80" + one))) << b;
  }
}

}  // namespace
}  // namespace kinema
