#include "engine/quantity/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace kinema {
namespace {

int64_t Milli(const std::string& s) {
  auto v = ParseQuantityMilli(s);
  EXPECT_TRUE(v.ok()) << s << ": " << v.status().ToString();
  return v.ok() ? *v : -999999;
}
int64_t Value(const std::string& s) {
  auto v = ParseQuantityValue(s);
  EXPECT_TRUE(v.ok()) << s << ": " << v.status().ToString();
  return v.ok() ? *v : -999999;
}

TEST(QuantityTest, PlainIntegersAreWholeUnits) {
  EXPECT_EQ(Milli("1"), 1000);  // the original Kinema read "1" as 1 millicore
  EXPECT_EQ(Milli("0"), 0);
  EXPECT_EQ(Milli("16"), 16000);
  EXPECT_EQ(Value("110"), 110);
  EXPECT_EQ(Value("0"), 0);
}

TEST(QuantityTest, MilliSuffix) {
  EXPECT_EQ(Milli("250m"), 250);
  EXPECT_EQ(Milli("3920m"), 3920);
  EXPECT_EQ(Value("250m"), 1);   // rounds up
  EXPECT_EQ(Value("1000m"), 1);
  EXPECT_EQ(Value("1001m"), 2);
}

TEST(QuantityTest, DecimalFractionsRoundUp) {
  EXPECT_EQ(Milli("1.5"), 1500);
  EXPECT_EQ(Milli("0.1"), 100);
  EXPECT_EQ(Milli(".5"), 500);
  EXPECT_EQ(Milli("5."), 5000);
  EXPECT_EQ(Milli("0.0001"), 1);
  EXPECT_EQ(Milli("0.1234"), 124);
  EXPECT_EQ(Value("1.5"), 2);
  EXPECT_EQ(Value("0.1"), 1);
  EXPECT_EQ(Milli("100n"), 1);
  EXPECT_EQ(Milli("1000000u"), 1000);
  EXPECT_EQ(Milli("1500000u"), 1500);
}

TEST(QuantityTest, BinarySuffixes) {
  EXPECT_EQ(Value("2Gi"), int64_t{2} << 30);  // the original read "2Gi" wrong
  EXPECT_EQ(Value("1Ki"), 1024);
  EXPECT_EQ(Value("13Gi"), int64_t{13} << 30);
  EXPECT_EQ(Value("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(Value("1Ti"), int64_t{1} << 40);
  EXPECT_EQ(Value("1Pi"), int64_t{1} << 50);
  EXPECT_EQ(Value("1Ei"), int64_t{1} << 60);
  EXPECT_EQ(Value("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(Value("0.5Ki"), 512);
  EXPECT_EQ(Value("0.001Ki"), 2);  // 1.024 bytes rounds up
}

TEST(QuantityTest, DecimalSuffixes) {
  EXPECT_EQ(Value("512M"), 512000000);
  EXPECT_EQ(Value("1k"), 1000);
  EXPECT_EQ(Value("1G"), 1000000000);
  EXPECT_EQ(Value("2T"), 2000000000000);
  EXPECT_EQ(Value("1P"), 1000000000000000);
  EXPECT_EQ(Value("1E"), 1000000000000000000);  // exa, not an exponent
  EXPECT_EQ(Milli("1k"), 1000000);
}

TEST(QuantityTest, Exponents) {
  EXPECT_EQ(Value("1e3"), 1000);
  EXPECT_EQ(Value("1E3"), 1000);
  EXPECT_EQ(Value("1e+3"), 1000);
  EXPECT_EQ(Milli("1e-3"), 1);
  EXPECT_EQ(Milli("25e-2"), 250);
  EXPECT_EQ(Value("1.5e3"), 1500);
  EXPECT_EQ(Value("12e0"), 12);
  EXPECT_EQ(Milli("1e-100"), 1);  // tiny positive rounds up to one unit
}

TEST(QuantityTest, Signs) {
  EXPECT_EQ(Milli("+1"), 1000);
  EXPECT_EQ(Milli("-1"), -1000);
  EXPECT_EQ(Milli("-1.5"), -1500);
  EXPECT_EQ(Value("-1.5"), -1);  // ceil towards +infinity
  EXPECT_EQ(Value("-0"), 0);
  EXPECT_EQ(Value("+2Ki"), 2048);
}

TEST(QuantityTest, ManyDigitsAreExact) {
  EXPECT_EQ(Milli("0.1234567890123456789012345678901234567890"), 124);
  EXPECT_EQ(Value("000000000000000000000000000000000001"), 1);
  EXPECT_EQ(Value("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(Value("9223372036854775806.5"), INT64_MAX);
}

TEST(QuantityTest, OverflowIsAnError) {
  EXPECT_FALSE(ParseQuantityValue("9223372036854775808").ok());
  EXPECT_TRUE(ParseQuantityValue("9223372036854775806.1").ok());  // rounds up to max
  EXPECT_FALSE(ParseQuantityValue("9223372036854775807.1").ok());  // rounds up past max
  EXPECT_FALSE(ParseQuantityValue("16Ei").ok());
  EXPECT_FALSE(ParseQuantityMilli("10E").ok());    // 10^22 millis
  EXPECT_FALSE(ParseQuantityValue("1e19").ok());
  EXPECT_FALSE(ParseQuantityValue("1e999999999999").ok());
  EXPECT_FALSE(ParseQuantityMilli("9E").ok());     // 9e21 millis
  EXPECT_TRUE(ParseQuantityValue("9E").ok());
}

TEST(QuantityTest, GarbageIsRejected) {
  for (const char* bad : {"", " ", "1 ", " 1", "abc", "1.2.3", "Ki", "1K", "1KI", "1e", "1ei",
                          "1e1.5", "--1", "+", ".", "1Gib", "1mi", "0x10", "1,5", "e3", "1ee3",
                          "1e+", "1 Gi", "1i", "1m1"}) {
    EXPECT_FALSE(ParseQuantityMilli(bad).ok()) << "\"" << bad << "\"";
    EXPECT_FALSE(ParseQuantityValue(bad).ok()) << "\"" << bad << "\"";
  }
}

TEST(QuantityTest, ErrorNamesTheInput) {
  auto v = ParseQuantityValue("12Q");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("12Q"), std::string::npos);
}

TEST(QuantityTest, FormatsCanonically) {
  EXPECT_EQ(FormatMilliCpu(2000), "2");
  EXPECT_EQ(FormatMilliCpu(1500), "1500m");
  EXPECT_EQ(FormatMilliCpu(0), "0");
  EXPECT_EQ(FormatBytes(int64_t{2} << 30), "2Gi");
  EXPECT_EQ(FormatBytes(1536), "1536");
  EXPECT_EQ(FormatBytes(1000), "1000");
  EXPECT_EQ(FormatBytes(int64_t{512} << 20), "512Mi");
  // Round trip.
  for (int64_t b : {int64_t{1}, int64_t{1024}, int64_t{3} << 29, int64_t{123456789}}) {
    EXPECT_EQ(Value(FormatBytes(b)), b);
  }
  for (int64_t m : {int64_t{1}, int64_t{999}, int64_t{1000}, int64_t{123456}}) {
    EXPECT_EQ(Milli(FormatMilliCpu(m)), m);
  }
}

}  // namespace
}  // namespace kinema
