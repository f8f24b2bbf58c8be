#include "engine/quantity/quantity.h"

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace kinema {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Parsed {
  bool negative = false;
  std::string digits;   // mantissa digits, integer part then fraction part
  int64_t exp10 = 0;    // decimal exponent applied to `digits`
  int binary_pow = 0;   // value is additionally multiplied by 2^binary_pow
};

Status Malformed(std::string_view s, const char* why) {
  return Status::InvalidArgument("invalid quantity \"" + std::string(s) + "\": " + why);
}

// Parses the suffix into exp10 / binary_pow additions.
Status ParseSuffix(std::string_view whole, std::string_view suf, Parsed* p) {
  if (suf.empty()) return Status::OK();
  if (suf.size() == 2 && suf[1] == 'i') {
    switch (suf[0]) {
      case 'K': p->binary_pow += 10; return Status::OK();
      case 'M': p->binary_pow += 20; return Status::OK();
      case 'G': p->binary_pow += 30; return Status::OK();
      case 'T': p->binary_pow += 40; return Status::OK();
      case 'P': p->binary_pow += 50; return Status::OK();
      case 'E': p->binary_pow += 60; return Status::OK();
      default: return Malformed(whole, "unknown binary suffix");
    }
  }
  if (suf.size() == 1) {
    switch (suf[0]) {
      case 'n': p->exp10 -= 9; return Status::OK();
      case 'u': p->exp10 -= 6; return Status::OK();
      case 'm': p->exp10 -= 3; return Status::OK();
      case 'k': p->exp10 += 3; return Status::OK();
      case 'M': p->exp10 += 6; return Status::OK();
      case 'G': p->exp10 += 9; return Status::OK();
      case 'T': p->exp10 += 12; return Status::OK();
      case 'P': p->exp10 += 15; return Status::OK();
      case 'E': p->exp10 += 18; return Status::OK();
      default: return Malformed(whole, "unknown suffix");
    }
  }
  if (suf[0] == 'e' || suf[0] == 'E') {
    std::string_view e = suf.substr(1);
    bool neg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      neg = e[0] == '-';
      e.remove_prefix(1);
    }
    if (e.empty()) return Malformed(whole, "exponent has no digits");
    int64_t v = 0;
    for (char c : e) {
      if (!IsDigit(c)) return Malformed(whole, "bad exponent");
      if (v > 100000000) return Malformed(whole, "exponent out of range");
      v = v * 10 + (c - '0');
    }
    p->exp10 += neg ? -v : v;
    return Status::OK();
  }
  return Malformed(whole, "unknown suffix");
}

StatusOr<Parsed> Parse(std::string_view s) {
  Parsed p;
  if (s.empty()) return Malformed(s, "empty");
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') {
    p.negative = s[i] == '-';
    ++i;
  }
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) {
    p.digits.push_back(s[i++]);
    ++int_digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) {
      p.digits.push_back(s[i++]);
      ++frac_digits;
    }
  }
  if (int_digits + frac_digits == 0) return Malformed(s, "no digits");
  p.exp10 = -static_cast<int64_t>(frac_digits);
  Status st = ParseSuffix(s, s.substr(i), &p);
  if (!st.ok()) return st;
  return p;
}

// Returns ceil(value * 10^scale) as int64, exactly.
StatusOr<int64_t> Scaled(std::string_view s, int scale) {
  StatusOr<Parsed> parsed = Parse(s);
  if (!parsed.ok()) return parsed.status();
  Parsed& p = *parsed;
  // Strip leading zeros; zero is zero whatever the suffix.
  size_t nz = p.digits.find_first_not_of('0');
  if (nz == std::string::npos) return int64_t{0};
  std::string digits = p.digits.substr(nz);
  // Multiply the digit string by 2^binary_pow (schoolbook, base 10).
  std::vector<int> d(digits.rbegin(), digits.rend());  // little-endian
  for (int& x : d) x -= '0';
  for (int k = 0; k < p.binary_pow; ++k) {
    int carry = 0;
    for (int& x : d) {
      int v = x * 2 + carry;
      x = v % 10;
      carry = v / 10;
    }
    if (carry) d.push_back(carry);
  }
  int64_t e = p.exp10 + scale;
  // Value = D * 10^e where D is the integer in d. Integer part has
  // len(d) + e digits; the rest is the fraction.
  int64_t len = static_cast<int64_t>(d.size());
  int64_t int_len = len + e;
  if (int_len > 19) return Malformed(s, "value out of range");
  // Build the integer part (big-endian digits of D followed by e zeros).
  unsigned __int128 int_part = 0;
  bool frac_nonzero = false;
  for (int64_t pos = 0; pos < std::max<int64_t>(int_len, len); ++pos) {
    // pos counts big-endian digit positions of D*10^max(e,0).
    int digit = pos < len ? d[len - 1 - pos] : 0;
    if (pos < int_len) {
      int_part = int_part * 10 + digit;
    } else if (digit != 0) {
      frac_nonzero = true;
    }
  }
  const unsigned __int128 kMax = static_cast<unsigned __int128>(INT64_MAX);
  if (!p.negative) {
    if (frac_nonzero) int_part += 1;  // round up
    if (int_part > kMax) return Malformed(s, "value out of range");
    return static_cast<int64_t>(int_part);
  }
  // ceil(-x) = -floor(x)
  if (int_part > kMax) return Malformed(s, "value out of range");
  return -static_cast<int64_t>(int_part);
}

}  // namespace

int64_t AddQuantitiesCapped(int64_t a, int64_t b) {
  a = std::clamp<int64_t>(a, 0, kMaxPlannableQuantity);
  b = std::clamp<int64_t>(b, 0, kMaxPlannableQuantity);
  return std::min(a + b, kMaxPlannableQuantity);  // both <= 2^44: no overflow
}

StatusOr<int64_t> ParseQuantityMilli(std::string_view s) { return Scaled(s, 3); }
StatusOr<int64_t> ParseQuantityValue(std::string_view s) { return Scaled(s, 0); }

std::string FormatMilliCpu(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string FormatBytes(int64_t bytes) {
  static const char* kSuffix[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes == 0) return "0";
  int idx = -1;
  int64_t v = bytes;
  while (idx < 5 && v % 1024 == 0) {
    v /= 1024;
    ++idx;
  }
  if (idx < 0) return std::to_string(bytes);
  return std::to_string(v) + kSuffix[idx];
}

StatusOr<int64_t> ParseJsonQuantity(const nlohmann::json& v, bool milli) {
  std::string s;
  if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_number_integer()) {
    s = std::to_string(v.get<int64_t>());
  } else if (v.is_number_unsigned()) {
    s = std::to_string(v.get<uint64_t>());
  } else if (v.is_number()) {
    std::ostringstream os;
    os.precision(17);
    os << v.get<double>();
    s = os.str();
  } else {
    return Status::InvalidArgument("must be a quantity string");
  }
  auto q = milli ? ParseQuantityMilli(s) : ParseQuantityValue(s);
  if (!q.ok()) return q.status();
  if (*q < 0) return Status::InvalidArgument("must not be negative");
  return *q;
}

}  // namespace kinema
