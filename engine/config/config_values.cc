#include "engine/config/config_values.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "engine/common/text.h"
#include "engine/http/http_client.h"

namespace kinema {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A plain decimal: [+-] digits [. digits] [e [+-] digits] (or ". digits").
bool IsPlainDecimal(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

std::string Quote(const std::string& s) { return "'" + Excerpt(s, 64) + "'"; }

std::string Num(double d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

}  // namespace

StatusOr<double> ParseNumber(const std::string& text, double lo, double hi) {
  if (!IsPlainDecimal(text)) return Status::InvalidArgument(Quote(text) + " is not a number");
  const char* first = text.data() + (text[0] == '+' ? 1 : 0);
  double d = 0;
  auto r = std::from_chars(first, text.data() + text.size(), d);
  if (r.ec == std::errc::result_out_of_range || !std::isfinite(d)) {
    return Status::InvalidArgument(Quote(text) + " is not a finite number");
  }
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return Status::InvalidArgument(Quote(text) + " is not a number");
  }
  if (!(d >= lo && d <= hi)) {
    return Status::InvalidArgument(Excerpt(text, 64) + " is outside [" + Num(lo) + ", " + Num(hi) + "]");
  }
  return d;
}

StatusOr<int64_t> ParseInteger(const std::string& text, int64_t lo, int64_t hi) {
  const char* first = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  const char* last = text.data() + text.size();
  int64_t v = 0;
  auto r = std::from_chars(first, last, v);
  if (first == last || r.ec == std::errc::invalid_argument || r.ptr != last) {
    return Status::InvalidArgument(Quote(text) + " is not an integer");
  }
  if (r.ec == std::errc::result_out_of_range || v < lo || v > hi) {
    return Status::InvalidArgument(Excerpt(text, 64) + " is outside [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "]");
  }
  return v;
}

Status CheckServiceUrl(const std::string& url) { return http::CheckHttpUrl(url); }

}  // namespace kinema
