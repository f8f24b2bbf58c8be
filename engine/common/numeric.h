// Numbers from outside (metrics, API answers) on their way into integers and
// sums: conversions that cannot overflow, arithmetic that reports overflow.
//
// Contract:
//   - CeilToInt64Clamped() rounds up and clamps into [lo, hi]; NaN gives lo.
//     Converting a double outside int64's range with static_cast is undefined
//     behaviour (in practice INT64_MIN); this never is.
//   - CheckedAdd()/CheckedMul() return false (leaving *out unspecified) when
//     the exact result does not fit int64.
// Thread-safety: pure functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace kinema {

inline int64_t CeilToInt64Clamped(double v, int64_t lo = std::numeric_limits<int64_t>::min(),
                                  int64_t hi = std::numeric_limits<int64_t>::max()) {
  if (std::isnan(v)) return lo;
  const double c = std::ceil(v);
  // 2^63 as a double; every double below it converts exactly.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (c <= static_cast<double>(lo) || c < -kTwo63) return lo;
  if (c >= kTwo63) return hi;
  const auto i = static_cast<int64_t>(c);
  return i > hi ? hi : (i < lo ? lo : i);
}

inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace kinema
