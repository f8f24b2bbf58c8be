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

StatusOr<Duration> ParseDuration(const std::string& s) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad duration " + Quote(s) + ": " + why);
  };
  if (s.empty()) return Status::InvalidArgument("empty duration");
  const double kMaxMs = 1e15;
  double total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    size_t digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
    }
    if (digits == 0) return bad("use e.g. 500ms, 10s, 15m, 1h");
    double v = 0;
    auto r = std::from_chars(s.data() + start, s.data() + i, v);
    if (r.ec != std::errc() || !std::isfinite(v)) return bad("number out of range");
    const size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    const std::string unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60000;
    else if (unit == "h") mult = 3600000;
    else return bad("unit must be ms, s, m or h");
    total_ms += v * mult;
    if (!(total_ms <= kMaxMs)) return bad("out of range");
  }
  return Duration(static_cast<int64_t>(total_ms + 0.5));
}

StatusOr<Duration> ParseConfigDuration(const std::string& s) {
  auto d = ParseDuration(s);
  if (d.ok() && *d > kMaxConfigDuration) {
    return Status::InvalidArgument("duration " + Quote(s) + " is longer than " + FormatDuration(kMaxConfigDuration));
  }
  return d;
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms % 3600000 == 0 && ms > 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms > 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Status CheckServiceUrl(const std::string& url) { return http::CheckHttpUrl(url); }

}  // namespace kinema
