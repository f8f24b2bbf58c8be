// Bounded conversions from doubles and checked int64 arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/common/numeric.h"

namespace kinema {
namespace {

TEST(Numeric, CeilToInt64ClampsInsteadOfOverflowing) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CeilToInt64Clamped(1.2), 2);
  EXPECT_EQ(CeilToInt64Clamped(-1.2), -1);
  EXPECT_EQ(CeilToInt64Clamped(1e308), kMax) << "not INT64_MIN (what static_cast gives in practice)";
  EXPECT_EQ(CeilToInt64Clamped(std::numeric_limits<double>::infinity()), kMax);
  EXPECT_EQ(CeilToInt64Clamped(-std::numeric_limits<double>::infinity()), kMin);
  EXPECT_EQ(CeilToInt64Clamped(std::nan(""), 0, 10), 0);
  EXPECT_EQ(CeilToInt64Clamped(1e308 * 1000, 0), kMax) << "the Prometheus 1e308 planned request";
  EXPECT_EQ(CeilToInt64Clamped(50, 0, 10), 10);
  EXPECT_EQ(CeilToInt64Clamped(-5, 0, 10), 0);
  EXPECT_EQ(CeilToInt64Clamped(9223372036854775807.0), kMax) << "2^63 rounds to out of range";
}

TEST(Numeric, CheckedArithmeticReportsOverflow) {
  int64_t out = 0;
  EXPECT_TRUE(CheckedAdd(1, 2, &out));
  EXPECT_EQ(out, 3);
  EXPECT_FALSE(CheckedAdd(std::numeric_limits<int64_t>::max(), 1, &out));
  EXPECT_FALSE(CheckedMul(int64_t{1} << 40, int64_t{1} << 40, &out));
  EXPECT_TRUE(CheckedMul(int64_t{1} << 30, int64_t{1} << 30, &out));
}

}  // namespace
}  // namespace kinema
